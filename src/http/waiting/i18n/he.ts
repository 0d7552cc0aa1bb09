/** עברית: written right to left. Phrased so that the written form is the same for every reader (no gendered verbs). */
import type { Catalog } from "./types.ts";

export const he: Catalog = {
  name: "עברית",
  dir: "rtl",
  heading: {
    prequeue: "האירוע יתחיל בקרוב",
    queued: "יש לך מקום בתור",
    admitted: "הגיע תורך",
    overflow: "אין מקום בשידור החי",
    closed: "האירוע הסתיים",
  },
  queued: {
    intro: "אין כרגע מקום בשידור החי, ולכן שמרנו לך מקום בתור.",
    place: "המקום שלך בתור",
    ahead: "לפניך בתור",
    wait: "זמן המתנה משוער",
    progress: "עברת {percent} מהדרך לכניסה",
    progressLabel: "ההתקדמות שלך מאז שהצטרפת",
    keepOpen: "נא להשאיר את הדף פתוח: הוא יכניס אותך לחדר ברגע שיגיע תורך.",
  },
  prequeue: {
    intro: "האירוע עדיין לא התחיל. המקום שלך שמור, והחדר ייפתח עם תחילת האירוע.",
    opensIn: "ייפתח בעוד",
    opensAt: "החדר ייפתח {relative}, ב־{time}.",
    keepOpen: "נא להשאיר את הדף פתוח: הוא יכניס אותך כשהאירוע יתחיל ויגיע תורך.",
  },
  admitted: {
    body: "מכניסים אותך לחדר…",
    go: "כניסה לחדר",
  },
  overflow: {
    full: "השידור החי לא יכול לקבל עוד מאזינים כרגע.",
    canKeep: "אפשר לשמור מקום בתור (זמן ההמתנה {eta}) או להאזין להקלטה כשתפורסם.",
    lineFull: "גם התור מלא, אבל אפשר יהיה להאזין להקלטה כשתפורסם.",
    keep: "שמירת המקום שלי בתור",
    pending: "נא להשאיר את הדף פתוח: הוא יעביר אותך להקלטה ברגע שתפורסם.",
  },
  closed: {
    over: "תודה שהגעת. השידור החי הסתיים.",
    pending: "הקישור להקלטה יופיע כאן ברגע שתפורסם.",
  },
  recording: "האזנה להקלטה",
  eta: {
    about: "בערך {range}",
    soon: "פחות מדקה",
    unknown: "עדיין לא ידוע: התור לא מתקדם כרגע",
  },
  announce: "המקום שלך בתור עכשיו: {position}. זמן המתנה משוער: {eta}.",
  next: "אין אף אחד לפניך בתור.",
  logoAlt: "הלוגו של {title}",
  hostMessage: "הודעה מהמארגנים",
  languages: "שפה",
};

/** Français. */
import type { Catalog } from "./types.ts";

export const fr: Catalog = {
  name: "Français",
  dir: "ltr",
  heading: {
    prequeue: "Bientôt en direct",
    queued: "Vous êtes dans la file",
    admitted: "C’est votre tour",
    overflow: "Le salon en direct est complet",
    closed: "L’événement est terminé",
  },
  queued: {
    intro: "Le salon en direct est complet pour le moment\u00a0: vous avez une place dans la file.",
    place: "Votre place dans la file",
    ahead: "Personnes devant vous",
    wait: "Attente estimée",
    progress: "{percent} du chemin parcouru jusqu’à l’entrée",
    progressLabel: "Votre progression depuis votre arrivée",
    keepOpen: "Gardez cette page ouverte\u00a0: elle vous fera entrer dès que ce sera votre tour.",
  },
  prequeue: {
    intro: "L’événement n’a pas encore commencé. Votre place est réservée et le salon ouvrira au début.",
    opensIn: "Ouverture dans",
    opensAt: "Le salon ouvre {relative}, le {time}.",
    keepOpen: "Gardez cette page ouverte\u00a0: elle vous fera entrer au début, quand ce sera votre tour.",
  },
  admitted: {
    body: "Nous vous faisons entrer dans le salon…",
    go: "Entrer dans le salon",
  },
  overflow: {
    full: "Le salon en direct ne peut pas accueillir plus d’auditeurs pour le moment.",
    canKeep:
      "Vous pouvez garder une place dans la file (attente\u00a0: {eta}) ou écouter l’enregistrement dès qu’il sera publié.",
    lineFull: "La file est complète elle aussi, mais vous pourrez écouter l’enregistrement dès qu’il sera publié.",
    keep: "Garder ma place dans la file",
    pending: "Gardez cette page ouverte\u00a0: elle vous mènera à l’enregistrement dès sa publication.",
  },
  closed: {
    over: "Merci de votre présence. L’événement en direct est terminé.",
    pending: "Le lien vers l’enregistrement apparaîtra ici dès sa publication.",
  },
  recording: "Écouter l’enregistrement",
  eta: {
    about: "environ {range}",
    soon: "moins d’une minute",
    unknown: "inconnue pour l’instant\u00a0: la file n’avance pas en ce moment",
  },
  announce: "Vous êtes maintenant numéro {position} dans la file. Attente estimée\u00a0: {eta}.",
  next: "C’est bientôt à vous\u00a0: vous êtes en tête de file.",
  logoAlt: "Logo de {title}",
  hostMessage: "Le mot des organisateurs",
  languages: "Langue",
  reconnecting: {
    heading: "Reconnexion",
    waiting: "Vous êtes toujours dans la file\u00a0: votre place est gardée. Le salon est injoignable pour le moment.",
    arriving: "Le salon ne peut pas accueillir de nouveaux auditeurs pour le moment.",
    retryIn: "Cette page réessaie dans {seconds}.",
  },
  challenge: {
    heading: "Vérification de votre navigateur",
    intro: "Nous vérifions votre navigateur avant de vous placer dans la file — cela prend quelques secondes.",
    why: "Ce salon est protégé contre le trafic automatisé en ce moment\u00a0: votre navigateur résout d’abord une courte énigme. Cette énigme n’installe rien et ne lit rien sur vous ni sur votre appareil.",
    progressLabel: "Avancement de la vérification",
    still: "Vérification en cours. Gardez cette page ouverte.",
    done: "C’est fait. Nous vous plaçons dans la file…",
    retry: "La connexion a échoué. Nouvel essai dans un instant.",
    busy: "Beaucoup de personnes arrivent en même temps. Nouvel essai dans un instant.",
    unsupported: "Ce navigateur ne peut pas effectuer la vérification. Essayez avec un navigateur à jour.",
    noscript:
      "JavaScript est nécessaire pour rejoindre la file tant que ce salon est protégé. Activez-le, puis rechargez cette page.",
    keepOpen: "Gardez cette page ouverte\u00a0: elle vous mènera à la file toute seule.",
  },
};

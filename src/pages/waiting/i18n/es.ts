/** Español. */
import type { Catalog } from "./types.ts";

export const es: Catalog = {
  name: "Español",
  dir: "ltr",
  heading: {
    prequeue: "Empieza pronto",
    queued: "Estás en la fila",
    admitted: "Es tu turno",
    overflow: "La sala en directo está llena",
    closed: "El evento ha terminado",
  },
  queued: {
    intro: "La sala en directo está llena ahora mismo, así que tienes un lugar en la fila.",
    place: "Tu lugar en la fila",
    ahead: "Personas delante de ti",
    wait: "Espera estimada",
    progress: "{percent} del camino hasta la entrada",
    progressLabel: "Tu avance desde que llegaste",
    keepOpen: "Mantén esta página abierta: te llevará a la sala en cuanto sea tu turno.",
  },
  prequeue: {
    intro: "El evento aún no ha empezado. Tu lugar está guardado y la sala abre cuando empiece.",
    opensIn: "Abre en",
    opensAt: "La sala abre {relative}, el {time}.",
    keepOpen: "Mantén esta página abierta: te llevará a la sala cuando empiece el evento y llegue tu turno.",
  },
  admitted: {
    body: "Te estamos llevando a la sala…",
    go: "Entrar en la sala",
  },
  overflow: {
    full: "La sala en directo no admite más oyentes por ahora.",
    canKeep: "Puedes conservar un lugar en la fila (la espera es de {eta}) o escuchar la grabación cuando se publique.",
    lineFull: "La fila también está llena, pero podrás escuchar la grabación cuando se publique.",
    keep: "Conservar mi lugar en la fila",
    pending: "Mantén esta página abierta: te llevará a la grabación en cuanto se publique.",
  },
  closed: {
    over: "Gracias por venir. El evento en directo ha terminado.",
    pending: "El enlace a la grabación aparecerá aquí en cuanto se publique.",
  },
  recording: "Escuchar la grabación",
  eta: {
    about: "aproximadamente {range}",
    soon: "menos de un minuto",
    unknown: "aún no se sabe: la fila no avanza en este momento",
  },
  announce: "Ahora eres el número {position} de la fila. Espera estimada: {eta}.",
  next: "Ya casi es tu turno: estás al frente de la fila.",
  logoAlt: "Logotipo de {title}",
  hostMessage: "Mensaje de la organización",
  languages: "Idioma",
  reconnecting: {
    heading: "Reconectando",
    waiting: "Sigues en la fila: tu lugar se mantiene. Ahora mismo no se puede contactar con la sala.",
    arriving: "La sala no puede recibir nuevos oyentes en este momento.",
    retryIn: "Esta página lo intentará de nuevo en {seconds}.",
  },
  challenge: {
    heading: "Comprobando tu navegador",
    intro: "Estamos comprobando tu navegador antes de que entres en la fila; tarda unos segundos.",
    why: "Esta sala está protegida contra el tráfico automatizado en este momento, así que tu navegador resuelve antes un pequeño reto. El reto no instala nada ni lee nada sobre ti o tu dispositivo.",
    progressLabel: "Avance de la comprobación",
    still: "Seguimos comprobando. Mantén esta página abierta.",
    done: "Listo. Te estamos poniendo en la fila…",
    retry: "Falló la conexión. Lo intentaremos de nuevo en breve.",
    busy: "Mucha gente está entrando ahora mismo. Lo intentaremos de nuevo en breve.",
    unsupported: "Este navegador no puede hacer la comprobación. Prueba con un navegador actualizado.",
    noscript:
      "Se necesita JavaScript para entrar en la fila mientras la sala está protegida. Actívalo y vuelve a cargar esta página.",
    keepOpen: "Mantén esta página abierta: te llevará a la fila por sí sola.",
  },
};

/** A room id: 1–64 of A-Z a-z 0-9 _ - (the public contract). */
export const ROOM_ID = /^[A-Za-z0-9_-]{1,64}$/;

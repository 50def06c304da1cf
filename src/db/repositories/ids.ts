const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids arrive from Discord options and buttons; anything malformed is simply "not found". */
export const isUuid = (value: string): boolean => UUID.test(value);

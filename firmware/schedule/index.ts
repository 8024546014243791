// Schedules: time zones and DST, weekly / year-day / holiday evaluation, validation, text forms.
export { localToEpoch, epochToLocal, isValidTimeZone, type LocalParts } from './zone.ts';
export { isWithinSchedules, activeHolidayMode, validityCheck } from './evaluate.ts';
export { validateSchedule } from './validate.ts';
export { parseDuration, parseWeekly } from './parse.ts';

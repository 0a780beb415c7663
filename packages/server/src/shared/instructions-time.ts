/**
 * The instructions with the run's time appended, as Make's agents get their system prompt
 * (`…\nCurrent time (ISO): 2025-06-26T07:42:30.080Z`). One function for the prompt the engine sends
 * and the system step the Make stream shows, so the two never differ.
 */
export function instructionsWithTime(instructions: string, isoTime: string): string {
  const line = `Current time (ISO): ${isoTime}`;
  return instructions === '' ? line : `${instructions}\n${line}`;
}

/**
 * A tokenizer-free estimate (about four characters a token, at least one for non-empty text).
 * Used to trim history to a budget and by the playground model; providers report real usage.
 */
export function estimateTokens(text: string): number {
  return text.length === 0 ? 0 : Math.max(1, Math.ceil(text.length / 4));
}

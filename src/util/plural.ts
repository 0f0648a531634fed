/** `3 epochs`, `1 epoch`: a count with its noun in the right number (an `s` added, or the plural given). */
export function plural(n: number, noun: string, many = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : many}`;
}

/**
 * A bench command's check of a whole-number flag: `wholeNumber(name, text,
 * min)` is the number, or the process ends with exit code 2 after saying
 * what was wrong, and the command's usage.
 */
export function wholeNumberFlags(command: string, usage: string) {
  return (name: string, text: string, min: number): number => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < min) {
      console.error(`${command}: --${name} must be a whole number of at least ${min}, got "${text}"\n\n${usage}`);
      process.exit(2);
    }
    return n;
  };
}

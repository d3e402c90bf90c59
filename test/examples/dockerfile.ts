/** A small Dockerfile parser for tests: instructions with their arguments, line continuations joined. */
export interface Instruction {
  /** Upper-case, e.g. `CMD`. */
  name: string;
  /** The text after the instruction name, continuations joined. */
  args: string;
  /** The JSON list of an exec-form instruction (`CMD ["node", "x"]`), else null. */
  exec: string[] | null;
  line: number;
}

export function parseDockerfile(text: string): Instruction[] {
  const instructions: Instruction[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const first = i + 1;
    let line = lines[i];
    if (/^\s*(#|$)/.test(line)) continue;
    while (/\\\s*$/.test(line) && i + 1 < lines.length) {
      line = `${line.replace(/\\\s*$/, '').trimEnd()} `;
      i++;
      if (!/^\s*#/.test(lines[i])) line += lines[i].trim();
    }
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line);
    if (!m) throw new Error(`Dockerfile line ${first}: not an instruction: ${line}`);
    const args = m[2].trim();
    instructions.push({ name: m[1].toUpperCase(), args, exec: execForm(args), line: first });
  }
  return instructions;
}

/** The JSON list of an exec-form argument (after options such as HEALTHCHECK's `--interval=…` and `CMD`). */
function execForm(args: string): string[] | null {
  const start = args.indexOf('[');
  if (start === -1) return null;
  try {
    const value: unknown = JSON.parse(args.slice(start));
    return Array.isArray(value) && value.every((v) => typeof v === 'string') ? (value as string[]) : null;
  } catch {
    return null;
  }
}

/** A small parser for systemd unit files (sections, `Key=value`, repeated keys), for tests. */
export type UnitFile = Record<string, Record<string, string[]>>;

export function parseUnitFile(text: string): UnitFile {
  const unit: UnitFile = {};
  let section: Record<string, string[]> | null = null;
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) return;
    const header = /^\[([A-Za-z]+)\]$/.exec(line);
    if (header) {
      section = unit[header[1]] ??= {};
      return;
    }
    const assignment = /^([A-Za-z][A-Za-z0-9]*)=(.*)$/.exec(line);
    if (!assignment || !section) throw new Error(`line ${index + 1} is not a unit file line: ${raw}`);
    (section[assignment[1]] ??= []).push(assignment[2]);
  });
  return unit;
}

/** The single value of a key, or an error when it is missing or repeated. */
export function single(unit: UnitFile, section: string, key: string): string {
  const values = unit[section]?.[key];
  if (!values || values.length !== 1) throw new Error(`[${section}] ${key}: expected one value, got ${JSON.stringify(values)}`);
  return values[0];
}

/**
 * Splits an ExecStart= command line as systemd does for the forms the renderer writes: words
 * separated by spaces, double-quoted words with \\ and \" escapes, `$$` → `$`, `%%` → `%`.
 */
export function splitExecLine(line: string): string[] {
  const words: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (let m = re.exec(line); m; m = re.exec(line)) {
    const word = m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2];
    words.push(word.replace(/\$\$/g, '$').replace(/%%/g, '%'));
  }
  return words;
}

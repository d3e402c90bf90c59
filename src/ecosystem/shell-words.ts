/**
 * Splitting a command line (a package.json script, a `script` holding a command) into words as
 * sh would — quotes and backslashes — and noticing what only a shell can do (operators,
 * expansions, redirections). Nothing is ever run: a line that needs a shell is reported as such.
 */

export interface ShellWords {
  words: string[];
  /** The first shell construct found (`&&`, `|`, `>`, `$VAR`, `` ` ``…), when the line needs a shell. */
  needsShell?: string;
}

const OPERATOR = /^(?:&&|\|\||;;|[;&|<>()])/;

export function splitShellWords(line: string): ShellWords {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let needsShell: string | undefined;
  const note = (construct: string): void => {
    needsShell ??= construct;
  };
  for (let i = 0; i < line.length; i += 1) {
    const c = line[i];
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end === -1) {
        note("an unclosed '");
        break;
      }
      word += line.slice(i + 1, end);
      inWord = true;
      i = end;
    } else if (c === '"') {
      let j = i + 1;
      for (; j < line.length && line[j] !== '"'; j += 1) {
        if (line[j] === '\\' && '$`"\\\n'.includes(line[j + 1] ?? '')) j += 1;
        else if (line[j] === '$' || line[j] === '`') note(line[j] === '$' ? '$ expansion' : 'a ` command substitution');
        word += line[j];
      }
      if (j >= line.length) {
        note('an unclosed "');
        break;
      }
      inWord = true;
      i = j;
    } else if (c === '\\') {
      word += line[i + 1] ?? '';
      inWord = true;
      i += 1;
    } else if (/\s/.test(c)) {
      if (c === '\n') note('a newline');
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else if (c === '$' || c === '`') {
      note(c === '$' ? '$ expansion' : 'a ` command substitution');
      word += c;
      inWord = true;
    } else if (OPERATOR.test(line.slice(i))) {
      const op = OPERATOR.exec(line.slice(i))![0];
      note(op);
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      i += op.length - 1;
    } else if ((c === '~' && !inWord) || c === '*') {
      note(c === '*' ? 'a * glob' : '~ expansion');
      word += c;
      inWord = true;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return needsShell === undefined ? { words } : { words, needsShell };
}

/** `A=b` at the start of a command: an environment assignment, as sh reads it. */
export function envAssignment(word: string): [string, string] | undefined {
  const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(word);
  return m ? [m[1], m[2]] : undefined;
}

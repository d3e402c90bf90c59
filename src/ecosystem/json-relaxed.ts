/**
 * A `.json` ecosystem file as pm2 reads it. pm2 evaluates it as a JavaScript expression, so
 * files in the field carry `//` and `/* *\/` comments, trailing commas, 'single-quoted' strings and
 * unquoted keys. This reads those without evaluating anything: the text is rewritten to strict
 * JSON (comments and trailing commas become spaces, so positions stay where they were) and
 * parsed with JSON.parse. A syntax error names its line and column.
 */

const IDENTIFIER = /[A-Za-z_$][\w$]*/y;

/** Rewrites relaxed JSON to strict JSON; throws a SyntaxError for an unterminated string or comment. */
export function toStrictJson(text: string): string {
  let out = '';
  let i = 0;
  // Where, in `out`, the last comma outside strings was written, while only spaces followed it.
  let pendingComma = -1;
  const blank = (s: string): string => s.replace(/[^\n]/g, ' ');
  while (i < text.length) {
    const c = text[i];
    if (c === '"' || c === "'") {
      const end = stringEnd(text, i);
      const body = text.slice(i + 1, end);
      out += c === '"' ? `"${body}"` : JSON.stringify(unescapeSingle(body));
      i = end + 1;
      pendingComma = -1;
    } else if (c === '/' && text[i + 1] === '/') {
      const end = text.indexOf('\n', i);
      const stop = end === -1 ? text.length : end;
      out += blank(text.slice(i, stop));
      i = stop;
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      if (end === -1) throw syntaxError(text, i, 'a /* comment that is never closed');
      out += blank(text.slice(i, end + 2));
      i = end + 2;
    } else if (c === ',') {
      pendingComma = out.length;
      out += c;
      i += 1;
    } else if ((c === '}' || c === ']') && pendingComma !== -1) {
      out = `${out.slice(0, pendingComma)} ${out.slice(pendingComma + 1)}${c}`;
      pendingComma = -1;
      i += 1;
    } else if (/\s/.test(c)) {
      out += c;
      i += 1;
    } else {
      IDENTIFIER.lastIndex = i;
      const word = IDENTIFIER.exec(text)?.[0];
      // An unquoted key (`name: "api"`) is quoted; true/false/null stay what they are.
      if (word !== undefined && !['true', 'false', 'null'].includes(word) && /^\s*:/.test(text.slice(i + word.length))) {
        out += JSON.stringify(word);
        i += word.length;
      } else {
        out += c;
        i += 1;
      }
      pendingComma = -1;
    }
  }
  return out;
}

function stringEnd(text: string, start: number): number {
  const quote = text[start];
  for (let i = start + 1; i < text.length; i += 1) {
    if (text[i] === '\\') i += 1;
    else if (text[i] === quote) return i;
    else if (text[i] === '\n') break;
  }
  throw syntaxError(text, start, 'a string that is never closed');
}

/** The value of a 'single-quoted' string body (JavaScript escapes, `\'` included). */
function unescapeSingle(body: string): string {
  let json = '';
  for (let i = 0; i < body.length; i += 1) {
    const ch = body[i];
    if (ch === '\\') {
      const next = body[i + 1] ?? '';
      json += next === "'" ? "'" : ch + next;
      i += 1;
    } else {
      json += ch === '"' ? '\\"' : ch;
    }
  }
  return JSON.parse(`"${json}"`) as string;
}

function lineAndColumn(text: string, position: number): string {
  const before = text.slice(0, position);
  const line = before.split('\n').length;
  return `line ${line}, column ${position - before.lastIndexOf('\n')}`;
}

function syntaxError(text: string, position: number, what: string): SyntaxError {
  return new SyntaxError(`${what} at ${lineAndColumn(text, position)}`);
}

/** Parses relaxed JSON; a SyntaxError names the line and column (of the rewritten text, near the original's). */
export function parseRelaxedJson(text: string): unknown {
  const strict = toStrictJson(text.replace(/^\uFEFF/, ''));
  try {
    return JSON.parse(strict) as unknown;
  } catch (error) {
    const message = (error as Error).message;
    const position = /at position (\d+)/.exec(message);
    const where = position ? ` at ${lineAndColumn(strict, Number(position[1]))}` : '';
    throw new SyntaxError(`invalid JSON: ${message.replace(/ in JSON at position \d+.*$/, '').replace(/ at position \d+.*$/, '')}${where}`);
  }
}

/**
 * A strict parser of the Prometheus text exposition format (version 0.0.4), with the checks
 * `promtool check metrics` makes that matter here: every family has HELP and TYPE before its
 * samples, samples of a family are contiguous, no series appears twice, names and labels are
 * well formed, values are numbers, and counters end in `_total`.
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

export function parsePrometheusText(text: string): Map<string, Family> {
  if (!text.endsWith('\n')) throw new Error('exposition must end with a newline');
  const families = new Map<string, Family>();
  const seenSeries = new Set<string>();
  let current: Family | undefined;
  const finished = new Set<string>();

  const lines = text.slice(0, -1).split('\n');
  lines.forEach((line, index) => {
    const where = `line ${index + 1}: ${JSON.stringify(line)}`;
    if (line.trim() === '') return;
    if (line.startsWith('#')) {
      const match = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
      if (!match) {
        if (/^# (HELP|TYPE)\b/.test(line)) throw new Error(`malformed ${where}`);
        return; // a plain comment
      }
      const [, keyword, name, rest] = match;
      if (!METRIC_NAME.test(name)) throw new Error(`bad metric name at ${where}`);
      if (finished.has(name)) throw new Error(`family ${name} is not contiguous at ${where}`);
      if (current && current.name !== name) finished.add(current.name);
      let family = families.get(name);
      if (!family) {
        family = { name, help: '', type: 'untyped', samples: [] };
        families.set(name, family);
      }
      if (family.samples.length > 0) throw new Error(`${keyword} after samples of ${name} at ${where}`);
      if (keyword === 'HELP') {
        if (family.help) throw new Error(`second HELP for ${name} at ${where}`);
        family.help = unescapeHelp(rest);
      } else {
        if (!TYPES.has(rest)) throw new Error(`unknown TYPE ${rest} at ${where}`);
        family.type = rest as Family['type'];
      }
      current = family;
      return;
    }
    const sample = parseSample(line, where);
    const familyName = familyOf(sample.name, families);
    const family = familyName ? families.get(familyName) : undefined;
    if (!family) throw new Error(`sample without HELP/TYPE at ${where}`);
    if (current !== family) throw new Error(`sample of ${family.name} outside its family block at ${where}`);
    const key = `${sample.name}{${Object.entries(sample.labels).sort().map(([k, v]) => `${k}=${v}`).join(',')}}`;
    if (seenSeries.has(key)) throw new Error(`duplicate series ${key} at ${where}`);
    seenSeries.add(key);
    family.samples.push(sample);
  });

  for (const family of families.values()) {
    if (!family.help) throw new Error(`${family.name} has no HELP`);
    if (family.type === 'untyped') throw new Error(`${family.name} has no TYPE`);
    if (family.type === 'counter' && !family.name.endsWith('_total')) throw new Error(`counter ${family.name} should end in _total`);
    if (family.type === 'counter' && family.samples.some((s) => s.value < 0)) throw new Error(`counter ${family.name} is negative`);
  }
  return families;
}

function familyOf(sampleName: string, families: Map<string, Family>): string | undefined {
  if (families.has(sampleName)) return sampleName;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (sampleName.endsWith(suffix) && families.has(sampleName.slice(0, -suffix.length))) return sampleName.slice(0, -suffix.length);
  }
  return undefined;
}

function parseSample(line: string, where: string): Sample {
  let i = 0;
  const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
  if (!nameMatch) throw new Error(`bad metric name at ${where}`);
  const name = nameMatch[0];
  i = name.length;
  const labels: Record<string, string> = {};
  if (line[i] === '{') {
    i += 1;
    while (line[i] !== '}') {
      const labelMatch = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(line.slice(i));
      if (!labelMatch || !LABEL_NAME.test(labelMatch[0])) throw new Error(`bad label name at ${where}`);
      const labelName = labelMatch[0];
      i += labelName.length;
      if (line[i] !== '=' || line[i + 1] !== '"') throw new Error(`expected =" after label ${labelName} at ${where}`);
      i += 2;
      let value = '';
      for (;;) {
        const c = line[i];
        if (c === undefined) throw new Error(`unterminated label value at ${where}`);
        if (c === '"') break;
        if (c === '\\') {
          const next = line[i + 1];
          if (next === 'n') value += '\n';
          else if (next === '\\' || next === '"') value += next;
          else throw new Error(`bad escape \\${next} at ${where}`);
          i += 2;
          continue;
        }
        value += c;
        i += 1;
      }
      i += 1; // closing quote
      if (labelName in labels) throw new Error(`duplicate label ${labelName} at ${where}`);
      labels[labelName] = value;
      if (line[i] === ',') i += 1;
      else if (line[i] !== '}') throw new Error(`expected , or } at ${where}`);
    }
    i += 1;
  }
  const rest = line.slice(i);
  const valueMatch = /^ (\S+)(?: (-?\d+))?$/.exec(rest);
  if (!valueMatch) throw new Error(`expected " <value> [timestamp]" at ${where}`);
  const raw = valueMatch[1];
  const value = raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : raw === 'NaN' ? NaN : Number(raw);
  if (!/^(?:[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]Inf|NaN)$/.test(raw)) throw new Error(`bad value ${raw} at ${where}`);
  return { name, labels, value };
}

function unescapeHelp(text: string): string {
  return text.replace(/\\(n|\\)/g, (_, c: string) => (c === 'n' ? '\n' : '\\'));
}

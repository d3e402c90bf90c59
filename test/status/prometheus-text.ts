/**
 * A strict parser of the Prometheus text exposition format (version 0.0.4) with the checks of
 * `promtool check metrics`, so that `npm test` needs no Prometheus install: the real promtool
 * runs on the same inputs in the tool suite (test/tools/, `npm run test:tools` in .ci/run).
 *
 * Parse errors (promtool exit 1): HELP and TYPE before a family's samples and at most once each,
 * contiguous families, no duplicate series, well-formed names, labels, escapes and values, and a
 * float `le` on every histogram bucket (a `quantile` on every summary sample). Stricter than
 * promtool 2.42, which accepts them: the buckets of each histogram series in increasing `le`
 * order with cumulative counts, ending in `+Inf`, with `_sum` and `_count` equal to the `+Inf`
 * bucket.
 * Lint problems (promtool exit 3, the rules of promlint): no help text; counters end in
 * `_total` and nothing else does; `_bucket`, `_sum`, `_count` and the labels `le` and
 * `quantile` reserved to histograms and summaries; no type name, no `:`, no camelCase, no
 * abbreviated or non-base unit in names.
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
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

/** Parses and lints; throws on the first parse error, or with every lint problem. */
export function parsePrometheusText(text: string): Map<string, Family> {
  const families = parseExposition(text);
  const problems = lintFamilies(families);
  if (problems.length > 0) throw new Error(problems.join('; '));
  return families;
}

/**
 * What `promtool check metrics` would say: [] when it passes, else its problems (a parse error
 * alone, or every lint problem).
 */
export function checkMetrics(text: string): string[] {
  try {
    return lintFamilies(parseExposition(text));
  } catch (err) {
    return [(err as Error).message];
  }
}

/** The parse step alone: throws on the first error of format or structure. */
export function parseExposition(text: string): Map<string, Family> {
  if (!text.endsWith('\n')) throw new Error('exposition must end with a newline');
  const families = new Map<string, Family>();
  const typed = new Set<string>();
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
        family.help = unescapeHelp(rest, where);
      } else {
        if (typed.has(name)) throw new Error(`second TYPE for ${name} at ${where}`);
        if (!TYPES.has(rest)) throw new Error(`unknown TYPE ${rest} at ${where}`);
        typed.add(name);
        family.type = rest as Family['type'];
      }
      current = family;
      return;
    }
    const sample = parseSample(line, where);
    const family = familyOf(sample.name, families);
    if (!family) throw new Error(`sample without HELP/TYPE at ${where}`);
    if (current !== family) throw new Error(`sample of ${family.name} outside its family block at ${where}`);
    checkReservedLabel(family, sample, where);
    const key = `${sample.name}{${Object.entries(sample.labels).sort().map(([k, v]) => `${k}=${v}`).join(',')}}`;
    if (seenSeries.has(key)) throw new Error(`duplicate series ${key} at ${where}`);
    seenSeries.add(key);
    family.samples.push(sample);
  });

  for (const family of families.values()) {
    if (family.type === 'untyped') throw new Error(`${family.name} has no TYPE`);
    if (family.type === 'histogram') checkHistogram(family);
  }
  return families;
}

/** The sample names a family of each type may hold. */
function familyOf(sampleName: string, families: Map<string, Family>): Family | undefined {
  const exact = families.get(sampleName);
  if (exact && exact.type !== 'histogram') return exact;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!sampleName.endsWith(suffix)) continue;
    const family = families.get(sampleName.slice(0, -suffix.length));
    if (family?.type === 'histogram' || (family?.type === 'summary' && suffix !== '_bucket')) return family;
  }
  return undefined;
}

/** `le` on every histogram bucket, `quantile` on every plain summary sample, each a float. */
function checkReservedLabel(family: Family, sample: Sample, where: string): void {
  const label = family.type === 'histogram' && sample.name.endsWith('_bucket') ? 'le' : family.type === 'summary' && sample.name === family.name ? 'quantile' : null;
  if (label === null) return;
  const raw = sample.labels[label];
  if (raw === undefined) throw new Error(`${sample.name} has no ${label} label at ${where}`);
  if (!isFloat(raw)) throw new Error(`expected a float as ${label} label, got ${JSON.stringify(raw)} at ${where}`);
}

/** Each histogram series: buckets by increasing `le`, cumulative, ending in +Inf; `_sum` and `_count` = +Inf bucket. */
function checkHistogram(family: Family): void {
  const series = new Map<string, { buckets: Array<[number, number]>; sum?: number; count?: number }>();
  for (const sample of family.samples) {
    const { le, ...rest } = sample.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    let entry = series.get(key);
    if (!entry) series.set(key, (entry = { buckets: [] }));
    if (sample.name.endsWith('_bucket')) entry.buckets.push([parseFloatValue(le!), sample.value]);
    else if (sample.name.endsWith('_sum')) entry.sum = sample.value;
    else entry.count = sample.value;
  }
  for (const [key, { buckets, sum, count }] of series) {
    const what = `histogram ${family.name}${key === '[]' ? '' : ` ${key}`}`;
    for (let i = 1; i < buckets.length; i++) {
      if (!(buckets[i]![0] > buckets[i - 1]![0])) throw new Error(`${what}: bucket le="${buckets[i]![0]}" after le="${buckets[i - 1]![0]}" (le must increase)`);
      if (buckets[i]![1] < buckets[i - 1]![1]) throw new Error(`${what}: bucket le="${buckets[i]![0]}" counts less than the one before (buckets are cumulative)`);
    }
    const last = buckets[buckets.length - 1];
    if (!last || last[0] !== Infinity) throw new Error(`${what} has no le="+Inf" bucket`);
    if (sum === undefined) throw new Error(`${what} has no _sum`);
    if (count === undefined) throw new Error(`${what} has no _count`);
    if (count !== last[1]) throw new Error(`${what}: _count ${count} differs from the +Inf bucket ${last[1]}`);
  }
}

// promlint's rules and word lists (github.com/prometheus/client_golang, testutil/promlint).
const TYPE_WORDS = ['counter', 'gauge', 'histogram', 'summary'];
const UNIT_ABBREVIATIONS = ['s', 'ms', 'us', 'ns', 'sec', 'b', 'kb', 'mb', 'gb', 'tb', 'pb', 'm', 'h', 'd'];
const BASE_UNITS: Record<string, string> = {
  amperes: 'amperes', bytes: 'bytes', celsius: 'celsius', grams: 'grams', joules: 'joules', kelvin: 'kelvin',
  meters: 'meters', metres: 'metres', seconds: 'seconds', volts: 'volts',
  minutes: 'seconds', hours: 'seconds', days: 'seconds', weeks: 'seconds',
  kelvins: 'kelvin', fahrenheit: 'celsius', rankine: 'celsius', inches: 'meters', yards: 'meters', miles: 'meters',
  bits: 'bytes', calories: 'joules', pounds: 'grams', ounces: 'grams',
};
const UNIT_PREFIXES = ['pico', 'nano', 'micro', 'milli', 'centi', 'deci', 'deca', 'hecto', 'kilo', 'kibi', 'mega', 'mibi', 'giga', 'gibi', 'tera', 'tebi', 'peta', 'pebi'];
const CAMEL = /[a-z][A-Z]/;

/** promlint's problems for each family, as `<name> <problem>` (promtool's wording). */
export function lintFamilies(families: Map<string, Family>): string[] {
  const problems: string[] = [];
  for (const f of families.values()) {
    const say = (problem: string): void => void problems.push(`${f.name} ${problem}`);
    const lower = f.name.toLowerCase();
    const hasWord = (word: string): boolean => lower.includes(`_${word}_`) || lower.endsWith(`_${word}`);
    const histogram = f.type === 'histogram';
    const summary = f.type === 'summary';
    if (!f.help) say('no help text (no HELP line)');
    const unit = metricUnit(f.name);
    if (unit && unit.unit !== unit.base) say(`use base unit "${unit.base}" instead of "${unit.unit}"`);
    if (f.type === 'counter' && !f.name.endsWith('_total')) say('counter metrics should have "_total" suffix (should end in _total)');
    if (f.type !== 'counter' && f.name.endsWith('_total')) say('non-counter metrics should not have "_total" suffix');
    if (!histogram && f.name.endsWith('_bucket')) say('non-histogram metrics should not have "_bucket" suffix');
    for (const suffix of ['_count', '_sum']) {
      if (!histogram && !summary && f.name.endsWith(suffix)) say(`non-histogram and non-summary metrics should not have "${suffix}" suffix`);
    }
    const labels = new Set(f.samples.flatMap((s) => Object.keys(s.labels)));
    if (!histogram && labels.has('le')) say('non-histogram metrics should not have "le" label');
    if (!summary && labels.has('quantile')) say('non-summary metrics should not have "quantile" label');
    for (const word of TYPE_WORDS) if (hasWord(word)) say(`metric name should not include type '${word}'`);
    if (f.name.includes(':')) say("metric names should not contain ':'");
    if (CAMEL.test(f.name)) say("metric names should be written in 'snake_case' not 'camelCase'");
    for (const label of labels) if (CAMEL.test(label)) say("label names should be written in 'snake_case' not 'camelCase'");
    if (UNIT_ABBREVIATIONS.some(hasWord)) say('metric names should not contain abbreviated units');
    if (f.type === 'counter' && f.samples.some((s) => s.value < 0)) say('counter is negative');
  }
  return problems;
}

/** The first word of the name that is a known unit (with or without an SI prefix), and its base unit. */
function metricUnit(name: string): { unit: string; base: string } | undefined {
  for (const word of name.split('_')) {
    if (BASE_UNITS[word]) return { unit: word, base: BASE_UNITS[word]! };
    for (const prefix of UNIT_PREFIXES) {
      const base = word.startsWith(prefix) ? BASE_UNITS[word.slice(prefix.length)] : undefined;
      if (base) return { unit: word, base };
    }
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
      if (!labelMatch) throw new Error(`bad label name at ${where}`);
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
  const raw = valueMatch[1]!;
  if (!isFloat(raw)) throw new Error(`bad value ${raw} at ${where}`);
  return { name, labels, value: parseFloatValue(raw) };
}

function isFloat(raw: string): boolean {
  return /^(?:[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?Inf|NaN)$/.test(raw);
}

function parseFloatValue(raw: string): number {
  if (raw === '+Inf' || raw === 'Inf') return Infinity;
  if (raw === '-Inf') return -Infinity;
  return raw === 'NaN' ? NaN : Number(raw);
}

/** HELP text escapes only `\\` and `\n`. */
function unescapeHelp(text: string, where: string): string {
  return text.replace(/\\(.?)/g, (_, c: string) => {
    if (c === 'n') return '\n';
    if (c === '\\') return '\\';
    throw new Error(`bad escape \\${c} in HELP at ${where}`);
  });
}

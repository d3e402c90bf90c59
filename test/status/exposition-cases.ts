/**
 * Expositions that `promtool check metrics` accepts or rejects, each with the problem the test
 * parser must name. test/status/prometheus-text.test.ts runs the parser on them (no tool needed);
 * test/tools/promtool.tools.test.ts runs the real promtool on the same texts, so the two cannot
 * drift apart. `promtool: false` marks the checks where the parser is stricter than promtool 2.42.
 */
export interface ExpositionCase {
  name: string;
  text: string;
  /** null: accepted. */
  problem: RegExp | null;
  /** Whether promtool rejects it too (default: true for a rejected text). */
  promtool?: boolean;
}

const family = (name: string, type: string, ...samples: string[]): string => `# HELP ${name} Something.\n# TYPE ${name} ${type}\n${samples.join('\n')}\n`;
const histogram = (...buckets: string[]): string => family('req_seconds', 'histogram', ...buckets);

export const EXPOSITION_CASES: ExpositionCase[] = [
  // Accepted.
  { name: 'a counter, a gauge with labels, a histogram', problem: null, text: family('jobs_total', 'counter', 'jobs_total{kind="a"} 3', 'jobs_total{kind="b\\"\\\\\\n"} 0') + family('queue_bytes', 'gauge', 'queue_bytes 1.5e3 1700000000000') + histogram('req_seconds_bucket{le="0.1"} 1', 'req_seconds_bucket{le="1"} 2', 'req_seconds_bucket{le="+Inf"} 2', 'req_seconds_sum 0.6', 'req_seconds_count 2') },
  { name: 'a summary', problem: null, text: family('lag_seconds', 'summary', 'lag_seconds{quantile="0.5"} 0.01', 'lag_seconds{quantile="0.99"} 0.2', 'lag_seconds_sum 4', 'lag_seconds_count 100') },
  { name: 'special values and a plain comment', problem: null, text: `# a comment\n${family('temp_celsius', 'gauge', 'temp_celsius{at="a"} NaN', 'temp_celsius{at="b"} +Inf', 'temp_celsius{at="c"} -Inf')}` },

  // Format errors (promtool exit 1).
  { name: 'a bad le value', problem: /expected a float as le/, text: histogram('req_seconds_bucket{le="x"} 1', 'req_seconds_bucket{le="+Inf"} 1', 'req_seconds_sum 1', 'req_seconds_count 1') },
  { name: 'an unterminated label value', problem: /unterminated/, text: family('up_ready', 'gauge', 'up_ready{a="1} 1') },
  { name: 'a label name starting with a digit', problem: /bad label name/, text: family('up_ready', 'gauge', 'up_ready{1a="1"} 1') },
  { name: 'a value that is not a number', problem: /bad value/, text: family('up_ready', 'gauge', 'up_ready one') },
  { name: 'an unknown TYPE', problem: /unknown TYPE/, text: family('up_ready', 'flavour', 'up_ready 1') },
  { name: 'a second TYPE', problem: /second TYPE/, text: '# HELP up_ready x\n# TYPE up_ready gauge\n# TYPE up_ready gauge\nup_ready 1\n' },
  { name: 'a second HELP', problem: /second HELP/, text: '# HELP up_ready x\n# HELP up_ready y\n# TYPE up_ready gauge\nup_ready 1\n' },
  { name: 'an invalid escape in a label value', problem: /bad escape/, text: family('up_ready', 'gauge', 'up_ready{a="\\t"} 1') },
  { name: 'a duplicate label', problem: /duplicate label/, text: family('up_ready', 'gauge', 'up_ready{a="1",a="2"} 1') },
  { name: 'a missing newline at the end', problem: /end with a newline/, text: family('up_ready', 'gauge', 'up_ready 1').slice(0, -1) },

  // Lint problems (promtool exit 3).
  { name: 'a counter without _total', problem: /counter metrics should have "_total" suffix/, text: family('jobs', 'counter', 'jobs 1') },
  { name: 'a gauge ending in _total', problem: /non-counter metrics should not have "_total"/, text: family('jobs_total', 'gauge', 'jobs_total 1') },
  { name: 'no HELP', problem: /no help text/, text: '# TYPE up_ready gauge\nup_ready 1\n' },
  { name: 'a gauge with an le label', problem: /should not have "le" label/, text: family('up_ready', 'gauge', 'up_ready{le="1"} 1') },
  { name: 'a gauge with a quantile label', problem: /should not have "quantile" label/, text: family('up_ready', 'gauge', 'up_ready{quantile="1"} 1') },
  { name: 'a gauge ending in _count', problem: /should not have "_count" suffix/, text: family('jobs_count', 'gauge', 'jobs_count 1') },
  { name: 'a gauge ending in _sum', problem: /should not have "_sum" suffix/, text: family('jobs_sum', 'gauge', 'jobs_sum 1') },
  { name: 'a gauge ending in _bucket', problem: /should not have "_bucket" suffix/, text: family('jobs_bucket', 'gauge', 'jobs_bucket 1') },
  { name: 'a type in the name', problem: /should not include type 'gauge'/, text: family('jobs_gauge', 'gauge', 'jobs_gauge 1') },
  { name: 'a colon in the name', problem: /should not contain ':'/, text: family('jobs:rate', 'gauge', 'jobs:rate 1') },
  { name: 'a camelCase name', problem: /metric names should be written in 'snake_case'/, text: family('jobsDone', 'gauge', 'jobsDone 1') },
  { name: 'a camelCase label', problem: /label names should be written in 'snake_case'/, text: family('up_ready', 'gauge', 'up_ready{workerId="1"} 1') },
  { name: 'an abbreviated unit', problem: /abbreviated units/, text: family('wait_ms', 'gauge', 'wait_ms 1') },
  { name: 'a unit that is not a base unit', problem: /use base unit "seconds" instead of "milliseconds"/, text: family('wait_milliseconds', 'gauge', 'wait_milliseconds 1') },

  // Stricter than promtool 2.42.
  { name: 'a HELP after samples', problem: /HELP after samples/, promtool: false, text: '# TYPE up_ready gauge\nup_ready 1\n# HELP up_ready x\n' },
  { name: 'a duplicate series', problem: /duplicate series/, promtool: false, text: family('jobs_total', 'counter', 'jobs_total 1', 'jobs_total 2') },
  { name: 'a family split in two', problem: /outside its family/, promtool: false, text: family('up_ready', 'gauge', 'up_ready{a="1"} 1') + family('up_alive', 'gauge', 'up_alive 1') + 'up_ready{a="2"} 1\n' },
  { name: 'a sample without HELP or TYPE', problem: /without HELP\/TYPE/, promtool: false, text: 'up_ready 1\n' },
  { name: 'buckets out of le order', problem: /le must increase/, promtool: false, text: histogram('req_seconds_bucket{le="1"} 2', 'req_seconds_bucket{le="0.5"} 2', 'req_seconds_bucket{le="+Inf"} 2', 'req_seconds_sum 1', 'req_seconds_count 2') },
  { name: 'buckets that are not cumulative', problem: /buckets are cumulative/, promtool: false, text: histogram('req_seconds_bucket{le="0.5"} 3', 'req_seconds_bucket{le="+Inf"} 2', 'req_seconds_sum 1', 'req_seconds_count 2') },
  { name: 'no +Inf bucket', problem: /no le="\+Inf" bucket/, promtool: false, text: histogram('req_seconds_bucket{le="1"} 2', 'req_seconds_sum 1', 'req_seconds_count 2') },
  { name: 'no _sum', problem: /has no _sum/, promtool: false, text: histogram('req_seconds_bucket{le="+Inf"} 2', 'req_seconds_count 2') },
  { name: 'no _count', problem: /has no _count/, promtool: false, text: histogram('req_seconds_bucket{le="+Inf"} 2', 'req_seconds_sum 2') },
  { name: 'a _count that differs from the +Inf bucket', problem: /_count 3 differs/, promtool: false, text: histogram('req_seconds_bucket{le="+Inf"} 2', 'req_seconds_sum 1', 'req_seconds_count 3') },
  { name: 'a bucket without le', problem: /has no le label/, promtool: false, text: histogram('req_seconds_bucket 1') },
  { name: 'a bare sample in a histogram', problem: /without HELP\/TYPE/, promtool: false, text: histogram('req_seconds 1') },
];

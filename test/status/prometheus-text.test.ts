import { describe, expect, it } from 'vitest';
import { EXPOSITION_CASES } from './exposition-cases';
import { checkMetrics } from './prometheus-text';

describe('checkMetrics: the checks of `promtool check metrics`, without promtool', () => {
  it.each(EXPOSITION_CASES.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const problems = checkMetrics(c.text);
    if (c.problem === null) expect(problems).toEqual([]);
    else expect(problems).toEqual(expect.arrayContaining([expect.stringMatching(c.problem)]));
  });
});

import { describe, expect, it } from 'vitest';
import { parseRelaxedJson } from '../../src/ecosystem/json-relaxed';

describe('parseRelaxedJson: a .json ecosystem file as pm2 reads it', () => {
  it('reads comments, trailing commas, single quotes and unquoted keys, leaving strings alone', () => {
    const text = `{
  // the API
  "apps": [
    {
      name: 'My API', /* a name with a space */
      "script": "server.js", // the entry
      'args': '--title "it\\'s // not a comment"',
      "env": { "URL": "http://example.test/a,b", "EMPTY": "", },
      "instances": 2,
    },
  ],
}
`;
    expect(parseRelaxedJson(text)).toEqual({
      apps: [
        {
          name: 'My API',
          script: 'server.js',
          args: `--title "it's // not a comment"`,
          env: { URL: 'http://example.test/a,b', EMPTY: '' },
          instances: 2,
        },
      ],
    });
  });

  it('reads strict JSON (with a byte-order mark) exactly as JSON.parse does', () => {
    const value = { apps: [{ name: 'a', script: 'a.js', env: { A: 'x\\"y', B: true, C: null } }] };
    expect(parseRelaxedJson(`\uFEFF${JSON.stringify(value, null, 2)}`)).toEqual(value);
  });

  it.each([
    ['{ "apps": [ { "script": "a.js" } }', /^invalid JSON: .* at line 1, column \d+$/],
    ['{\n  "apps": [\n    { "script": "a.js" \n  ]\n}', /^invalid JSON: .* at line 4, column \d+$/],
    ['{ "apps": "never closed }', /^a string that is never closed at line 1, column 11$/],
    ['{ /* never closed\n "apps": [] }', /^a \/\* comment that is never closed at line 1, column 3$/],
  ])('names the line and column of a syntax error: %s', (text, message) => {
    expect(() => parseRelaxedJson(text)).toThrow(message);
  });
});

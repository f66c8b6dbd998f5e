// getParams on a local system: the JSON file of full parameter names, read per path, names
// relative to the path, cached for a moment; every way the file or the path can be wrong.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FactumError } from '../util/errors.ts';
import { paramsReader } from './ion-params.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'factum-ion-params-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function fileWith(name: string, text: string): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, text);
  return file;
}

async function refusal(promise: Promise<unknown>): Promise<FactumError> {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(FactumError);
  return error as FactumError;
}

describe('getParams from a local file', () => {
  it('answers the names under a path, relative to it, with or without the trailing slash', async () => {
    const file = await fileWith('ok.json', JSON.stringify({ '/shop/dev/db': 'shop', '/shop/dev/stripe/key': 'sk_test', '/shop/devices/x': 'no', '/shop/prod/db': 'live' }));
    const read = paramsReader({ kind: 'file', path: file });
    expect(await read('/shop/dev/')).toEqual({ db: 'shop', 'stripe/key': 'sk_test' });
    expect(await read('/shop/dev')).toEqual({ db: 'shop', 'stripe/key': 'sk_test' });
    expect(await read('/nothing/')).toEqual({});
    expect(await read('/')).toEqual({ 'shop/dev/db': 'shop', 'shop/dev/stripe/key': 'sk_test', 'shop/devices/x': 'no', 'shop/prod/db': 'live' });
  });

  it('keeps an answer for a moment: a change of the file shows on a later read, not at once', async () => {
    const file = await fileWith('cached.json', JSON.stringify({ '/a/b': '1' }));
    const read = paramsReader({ kind: 'file', path: file });
    expect(await read('/a/')).toEqual({ b: '1' });
    await writeFile(file, JSON.stringify({ '/a/b': '2' }));
    expect(await read('/a/')).toEqual({ b: '1' });
    expect(await paramsReader({ kind: 'file', path: file })('/a/')).toEqual({ b: '2' });
  });

  it('refuses a path not rooted at /, and says what a path looks like', async () => {
    const read = paramsReader({ kind: 'file', path: path.join(dir, 'none.json') });
    for (const bad of ['shop/dev', '', '/shop//dev', 42]) {
      const error = await refusal((async () => read(bad as string))());
      expect(error.code).toBe('ion/invalid-params-path');
      expect(error.message).toMatch(/^getParams expects a path of the parameter store starting with \//);
    }
  });

  it('names the file and what is wrong with it, never a value', async () => {
    const cases: Array<[name: string, text: string | null, message: RegExp]> = [
      ['missing.json', null, /could not read the local parameter file .*missing\.json: ENOENT/],
      ['not-json.json', '{"/a/b": sk_secret}', /The local parameter file .*not-json\.json is not valid JSON/],
      ['array.json', '["/a/b"]', /holds an array; expected a JSON object of parameter name → string value/],
      ['numbers.json', JSON.stringify({ '/a/b': 'sk_secret', '/a/c': 3, '/a/d': null }), /has values that are not strings: \/a\/c, \/a\/d; Parameter Store holds strings only/],
    ];
    for (const [name, text, message] of cases) {
      const file = text === null ? path.join(dir, name) : await fileWith(name, text);
      const error = await refusal(paramsReader({ kind: 'file', path: file })('/a/'));
      expect(error.code).toBe('ion/params-failed');
      expect(error.message).toMatch(message);
      expect(error.message).not.toContain('sk_secret');
    }
  });
});

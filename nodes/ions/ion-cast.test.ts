// cast.event, cast.alert and cast.metric's checks, as a table: the map given → the map sent, or
// the error the ion gets.
import { describe, expect, it } from 'vitest';
import { FactumError } from '../util/errors.ts';
import { kw } from '../values/values.ts';
import { checkCast } from './ion-cast.ts';

const error = new Error('card declined');

const accepted: Array<[kind: 'event' | 'alert' | 'metric', given: unknown, sent: unknown]> = [
  ['event', { msg: 'order placed', order: 7, tag: kw('order/new') }, { msg: 'order placed', order: 7, tag: kw('order/new') }],
  ['alert', { msg: 'payment refused', ex: error }, { msg: 'payment refused', ex: { name: 'Error', message: 'card declined', stack: error.stack } }],
  ['metric', { name: 'orders', value: 1 }, { name: 'orders', value: 1 }],
  ['metric', { name: 'latency', value: 12.5, units: 'msec' }, { name: 'latency', value: 12.5, units: 'msec' }],
];

const refused: Array<[kind: 'event' | 'alert' | 'metric', given: unknown, message: string]> = [
  ['event', 'order placed', 'cast.event expects a plain object, got string.'],
  ['event', null, 'cast.event expects a plain object, got null.'],
  ['alert', [{ msg: 'x' }], 'cast.alert expects a plain object, got an array.'],
  ['event', new Map([['msg', 'x']]), 'cast.event expects a plain object, got an instance of Map.'],
  ['event', { message: 'no msg key' }, 'cast.event expects a map with a msg, a non-empty string saying what happened, got msg nothing.'],
  ['alert', { msg: '' }, 'cast.alert expects a map with a msg, a non-empty string saying what happened, got msg "".'],
  ['event', { msg: 'x'.repeat(5000) }, 'cast.event expects a msg of at most 4096 characters, got 5000; put the details in other keys.'],
  ['metric', { value: 1 }, 'cast.metric expects a name, a non-empty string of at most 4096 characters, got nothing.'],
  ['metric', { name: 'orders', value: Number.POSITIVE_INFINITY }, 'cast.metric expects a value, a finite number, got Infinity (metric orders).'],
  ['metric', { name: 'orders', value: 1n }, 'cast.metric expects a value, a finite number, got the bigint 1 (metric orders).'],
  ['metric', { name: 'orders', value: 1, units: 3 }, "cast.metric expects units to be a non-empty string such as 'count' or 'msec' when given, got 3 (metric orders)."],
  ['metric', { name: 'orders', value: 1, shop: 'eu' }, 'cast.metric takes name, value and units only, got also shop (metric orders); put other details in a cast.event.'],
];

describe('cast checks', () => {
  it.each(accepted)('cast.%s accepts %o', (kind, given, sent) => {
    expect(checkCast(kind, given)).toEqual(sent);
  });

  it.each(refused)('cast.%s refuses %o', (kind, given, message) => {
    let thrown: unknown;
    try {
      checkCast(kind, given);
    } catch (caught) {
      thrown = caught;
    }
    expect(thrown).toBeInstanceOf(FactumError);
    expect((thrown as FactumError).code).toBe('ion/invalid-cast');
    expect((thrown as FactumError).message).toBe(message);
  });
});

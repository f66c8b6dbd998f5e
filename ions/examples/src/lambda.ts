// A Lambda ion: the Lambda proxy forwards its event as JSON text; the answer is text too.
//
//   aws lambda invoke --function-name <system>-bank-balance --payload '{"account":"alice"}' out.json
import { formatBalance } from './score.ts';
import { readBalance } from './web.ts';

export async function balanceLambda(input: string): Promise<string> {
  const { account } = JSON.parse(input) as { account?: unknown };
  if (typeof account !== 'string') throw new Error(`expected {"account": "<id>"}, got ${input}`);
  const balance = await readBalance(account);
  return JSON.stringify(balance === null ? { account, found: false } : { account, found: true, balance: formatBalance(balance) });
}

// The HTTP handler: requests under /ion/ of the group's endpoint.
//
//   GET  /ion/accounts/alice                          → {"id":"alice","balance":"25.00"}
//   POST /ion/transfers {"from":"alice","to":"bob","cents":500}   → {"t":1042}
import { cast, getClient, getEnv, type IonHttpRequest, type IonHttpResponse } from 'factum/ion';
import { formatBalance } from './score.ts';

/** The database the ions serve: the group's environment says, else "bank". */
export function databaseName(): string {
  const { database } = getEnv();
  return typeof database === 'string' ? database : 'bank';
}

const json = (status: number, value: unknown): IonHttpResponse => ({ status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(value) });

export async function readBalance(id: string): Promise<number | null> {
  const db = (await getClient().connect(databaseName())).db();
  const entity = await db.pull('[:account/balance]', ['account/id', id]).catch(() => null);
  const balance = entity?.['account/balance'];
  return typeof balance === 'number' ? balance : null;
}

async function postTransfer(request: IonHttpRequest): Promise<IonHttpResponse> {
  let body: { from?: unknown; to?: unknown; cents?: unknown };
  try {
    body = JSON.parse(new TextDecoder().decode(request.body)) as typeof body;
  } catch {
    return json(400, { error: 'expected a JSON body {"from", "to", "cents"}' });
  }
  const { from, to, cents } = body;
  if (typeof from !== 'string' || typeof to !== 'string' || typeof cents !== 'number') return json(400, { error: 'expected {"from": string, "to": string, "cents": number}' });
  const conn = await getClient().connect(databaseName());
  try {
    // The invariant is the transaction function's: it runs on the transactor, in order.
    const report = await conn.transact(`[[:bank/transfer [:account/id ${JSON.stringify(from)}] [:account/id ${JSON.stringify(to)}] ${cents}]]`);
    return json(200, { t: report.dbAfter.basisT });
  } catch (error) {
    cast.event({ msg: 'transfer refused', from, to, cents });
    return json(409, { error: (error as Error).message });
  }
}

export async function web(request: IonHttpRequest): Promise<IonHttpResponse> {
  const account = /^\/accounts\/([^/]+)$/.exec(request.path);
  if (request.method === 'GET' && account !== null) {
    const id = decodeURIComponent(account[1]!);
    const balance = await readBalance(id);
    return balance === null ? json(404, { error: `no account ${id}` }) : json(200, { id, balance: formatBalance(balance) });
  }
  if (request.method === 'POST' && request.path === '/transfers') return postTransfer(request);
  return json(404, { error: `no route ${request.method} ${request.path}; try GET /ion/accounts/<id> or POST /ion/transfers` });
}

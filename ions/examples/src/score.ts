// A query function and a pull xform: synchronous, plain values in and out.
//
//   [:find ?id ?risk :where [?a :account/id ?id] [?a :account/balance ?b] [(bank/riskScore ?b) ?risk]]
//   [:account/id [:account/balance :xform bank/formatBalance]]

/** How exposed an account is, by its balance in cents: "high" under 10.00, "medium" under 1000.00. */
export function riskScore(balance: number): string {
  if (balance < 1_000) return 'high';
  if (balance < 100_000) return 'medium';
  return 'low';
}

/** A balance in cents as money text: 123456 → "1234.56". */
export function formatBalance(balance: number): string {
  const sign = balance < 0 ? '-' : '';
  const cents = Math.abs(balance);
  return `${sign}${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
}

// The bank application's ions: ion-config.json names which of these exports are callable.
export { transfer } from './transfer.ts';
export { riskScore, formatBalance } from './score.ts';
export { web } from './web.ts';
export { balanceLambda } from './lambda.ts';

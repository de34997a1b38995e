/** The upstream's one answer: a small Open Banking-shaped JSON document. */
export const UPSTREAM_BODY = JSON.stringify({ Data: { Account: [{ AccountId: 'acc-1', Currency: 'GBP', Nickname: 'Bills' }] } });

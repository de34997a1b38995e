/** Fixed fake accounts, balances and transactions: the same answers on every run. */
export interface SampleAccount {
  AccountId: string;
  Currency: string;
  AccountType: 'Personal' | 'Business';
  AccountSubType: 'CurrentAccount' | 'Savings';
  Nickname: string;
  Account: { SchemeName: string; Identification: string; Name: string }[];
}

const account = (
  AccountId: string,
  Nickname: string,
  AccountType: SampleAccount['AccountType'],
  AccountSubType: SampleAccount['AccountSubType'],
  Identification: string,
  Name: string,
): SampleAccount => ({
  AccountId,
  Currency: 'GBP',
  AccountType,
  AccountSubType,
  Nickname,
  Account: [{ SchemeName: 'UK.OBIE.SortCodeAccountNumber', Identification, Name }],
});

export const ACCOUNTS: readonly SampleAccount[] = [
  account('22289', 'Bills', 'Personal', 'CurrentAccount', '80200110203345', 'Mr Kevin'),
  account('31820', 'Household', 'Personal', 'Savings', '80200110203348', 'Mrs Juniper'),
  account('47310', 'Operations', 'Business', 'CurrentAccount', '80200110203351', 'Acme Ltd'),
];

/** A balance derived from the account id, so each account has its own stable amount. */
export const balanceOf = (accountId: string) => {
  const pence = [...accountId].reduce((sum, ch) => sum * 31 + ch.charCodeAt(0), 7) % 1_000_000;
  return {
    AccountId: accountId,
    Amount: { Amount: (pence / 100).toFixed(2), Currency: 'GBP' },
    CreditDebitIndicator: 'Credit',
    Type: 'InterimAvailable',
    DateTime: '2026-01-15T09:00:00.000Z',
  };
};

const MERCHANTS = ['Coffee House', 'Rail Tickets', 'Grocer', 'Bookshop', 'Salary', 'Electricity'];

/** Ten transactions per account, one a day from a fixed date. */
export const transactionsOf = (accountId: string) =>
  Array.from({ length: 10 }, (_, i) => {
    const merchant = MERCHANTS[(i + accountId.length) % MERCHANTS.length] ?? 'Unknown';
    const credit = merchant === 'Salary';
    return {
      AccountId: accountId,
      TransactionId: `${accountId}-${String(i + 1).padStart(4, '0')}`,
      CreditDebitIndicator: credit ? 'Credit' : 'Debit',
      Status: 'Booked',
      BookingDateTime: new Date(Date.UTC(2026, 0, 1 + i, 12)).toISOString(),
      Amount: { Amount: ((credit ? 250_000 : 120 + i * 137) / 100).toFixed(2), Currency: 'GBP' },
      TransactionInformation: merchant,
    };
  });

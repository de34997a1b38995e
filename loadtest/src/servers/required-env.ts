/** A variable the scenario always passes to its server children. */
export const requiredEnv = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: server children are started by the loadtest scenarios`);
  return value;
};

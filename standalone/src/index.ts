// `npm start` runs ./main.ts; nothing is exported.
export {};

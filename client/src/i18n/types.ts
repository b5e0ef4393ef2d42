/** Another language's catalogue for an area: every key of the English one, no more (a compile error otherwise). */
export type Translation<English extends Record<string, string>> = { readonly [K in keyof English]: string };

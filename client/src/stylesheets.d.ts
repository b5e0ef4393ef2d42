// A view imports its stylesheet for the side effect: Vite bundles it into the page's CSS. TypeScript
// 6 and later check that such imports resolve; this says a stylesheet is a module with no exports.
declare module '*.css';

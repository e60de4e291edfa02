// The `mnist` package ships no types; residual reads only each digit's `raw` and `length`.
declare module 'mnist' {
  const digits: unknown;
  export = digits;
}

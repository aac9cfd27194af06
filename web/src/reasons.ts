/** Reasons in words: the server's notices and the console share one wording. */
export { describeReason } from '../../src/api/reason-words.ts';

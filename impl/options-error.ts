// Bad simulation options (a member, level, data set name, fault or workload that cannot be):
// one class, so a front end such as the CLI can tell the user's mistake from a failure.
export class OptionsError extends Error {
  override readonly name = 'OptionsError';
}

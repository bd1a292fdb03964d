// An error the user can act on (a missing folder, nothing to export, a bad setting): the commands
// show its message as it is, and the output channel gets no stack for it.
export class UserError extends Error {}

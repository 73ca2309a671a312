// Who a request comes from, as the caller middleware resolves it (ctx.state.user).
export interface Caller {
  /** The user's id; the guest user's id for anonymous requests. */
  id: number;
  keyname: string;
  display_name: string;
  /** Anonymous request (no session, no credentials). */
  guest: boolean;
  /** Ids of the groups the user belongs to. */
  groups: number[];
  /** Member of the administrators group: allowed everything. */
  administrator: boolean;
  /** How the caller proved who they are. */
  via: 'guest' | 'session' | 'basic';
}

/** A page of the app: mounted once into `root`, told when the language changes, destroyed on leave. */
export interface View {
  mount(root: HTMLElement): void;
  relabel(): void;
  destroy(): void;
  /** The route's parameter changed (e.g. another plot's link) while the view stays. */
  update?(param: string | null): void;
}

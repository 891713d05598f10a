/** A page of the app: mounted once into `root`, told when the language changes, destroyed on leave. */
export interface View {
  mount(root: HTMLElement): void;
  relabel(): void;
  destroy(): void;
}

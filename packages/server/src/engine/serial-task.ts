/**
 * Runs an async task so that it never overlaps itself: a request that arrives while it runs makes it
 * run once more afterwards (requests in between collapse into that one).
 */
export class SerialTask {
  private running = false;
  private again = false;

  constructor(
    private readonly task: () => Promise<void>,
    private readonly onError: (error: unknown) => void,
  ) {}

  request(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void this.task()
      .catch(this.onError)
      .finally(() => {
        this.running = false;
        if (this.again) {
          this.again = false;
          this.request();
        }
      });
  }
}

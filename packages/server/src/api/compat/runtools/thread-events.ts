import { isFinalRunStatus, type Message, type Run } from '@runyard/protocol';
import type { Caller } from '../../../core/caller.ts';
import type { Services } from '../../../core/services.ts';
import type { ThreadRunHistory } from '../../../core/threads-service.ts';
import { RuntoolsError } from './errors.ts';
import { runtoolsRunError, runtoolsStatus, runtoolsUsage } from './run-view.ts';

/** One durable event of runtools' thread history. */
export interface ThreadEvent {
  sequence: number;
  rolloutId: null;
  threadId: string;
  runId: string;
  type: string;
  payload: Record<string, unknown>;
  createdAt: string;
}

type UnnumberedEvent = Omit<ThreadEvent, 'sequence'>;

/**
 * The history events of one run, derived from the run and the thread messages it wrote:
 * run_started, one event per input message (user_message, assistant_message, system_message), then
 * what the run produced (assistant_message per text, tool_call, tool_result), then run_completed.
 * A run writes its messages when it ends, so an active run shows only its start and its input, read
 * from the run itself (the same messages it will store first): the list only ever grows at its end.
 * A queued run that has not started shows nothing yet.
 */
function eventsOfRun(threadId: string, { run, messages }: ThreadRunHistory): UnnumberedEvent[] {
  const ended = isFinalRunStatus(run.status);
  if (!ended && run.startedAt === null) return [];
  const event = (type: string, payload: Record<string, unknown>, createdAt: string): UnnumberedEvent => ({
    rolloutId: null,
    threadId,
    runId: run.id,
    type,
    payload,
    createdAt,
  });
  const events = [
    event(
      'run_started',
      { agentId: run.agentId, agentVersion: run.agentVersion },
      run.startedAt ?? run.createdAt,
    ),
  ];
  if (!ended) {
    for (const message of run.input) {
      events.push(
        event(`${message.role}_message`, { role: message.role, content: message.content }, run.createdAt),
      );
    }
    return events;
  }
  // The first messages are the run's input (stored when it ended): they keep the time the input
  // was given, as they showed while the run was active.
  for (const [index, message] of messages.entries()) {
    const at = index < run.input.length ? run.createdAt : message.createdAt;
    events.push(...eventsOfMessage(message, at, event));
  }
  events.push(
    event(
      'run_completed',
      {
        status: runtoolsStatus(run.status),
        result: run.output?.text ?? null,
        error: runtoolsRunError(run.error),
        usage: runtoolsUsage(run.usage),
        iterations: run.iterations,
      },
      run.finishedAt ?? run.createdAt,
    ),
  );
  return events;
}

function eventsOfMessage(
  message: Message,
  at: string,
  event: (type: string, payload: Record<string, unknown>, createdAt: string) => UnnumberedEvent,
): UnnumberedEvent[] {
  switch (message.role) {
    case 'user':
    case 'system': {
      const content = message.content.flatMap((part) => (part.type === 'text' ? [part.text] : [])).join('');
      return [event(`${message.role}_message`, { role: message.role, content }, at)];
    }
    case 'assistant':
      return message.content.flatMap((part) => {
        if (part.type === 'text')
          return [event('assistant_message', { role: 'assistant', content: part.text }, at)];
        if (part.type === 'tool-call') {
          return [
            event('tool_call', { toolCallId: part.toolCallId, tool: part.toolName, input: part.input }, at),
          ];
        }
        return [];
      });
    case 'tool':
      return message.content.flatMap((part) =>
        part.type === 'tool-result'
          ? [
              event(
                'tool_result',
                {
                  toolCallId: part.toolCallId,
                  tool: part.toolName,
                  output: part.output,
                  isError: part.isError,
                },
                at,
              ),
            ]
          : [],
      );
  }
}

/** Where a page starts: the event at `index` of run `runId`, numbered `sequence`. */
interface Position {
  runId: string;
  index: number;
  sequence: number;
}

function encodeCursor(position: Position): string {
  return Buffer.from(`${position.runId}.${position.index}.${position.sequence}`, 'utf8').toString(
    'base64url',
  );
}

function decodeCursor(cursor: string): Position {
  const match = /^(run_[0-9a-z]{26})\.(\d{1,9})\.(\d{1,12})$/.exec(
    Buffer.from(cursor, 'base64url').toString('utf8'),
  );
  if (match === null) {
    throw new RuntoolsError(
      400,
      'bad_request',
      'cursor: is not a cursor this server issued (use meta nextCursor as given)',
    );
  }
  return { runId: match[1] ?? '', index: Number(match[2]), sequence: Number(match[3]) };
}

export interface ThreadEventPage {
  events: ThreadEvent[];
  hasMore: boolean;
  nextCursor: string | null;
}

/**
 * A page of a thread's history. Runs are read in creation order; the cursor names a position in a
 * run's events, which only grow at their end, so paging is stable while runs run and new ones
 * append. A page stops at the first run that has not ended: its further events come when it ends.
 */
export async function threadEventPage(
  services: Services,
  caller: Caller,
  threadId: string,
  request: { limit: number; cursor?: string | undefined },
): Promise<ThreadEventPage> {
  const start = request.cursor === undefined ? undefined : decodeCursor(request.cursor);
  const events: ThreadEvent[] = [];
  let sequence = start?.sequence ?? 1;
  let fromRunId = start?.runId;
  let skip = start?.index ?? 0;
  let lastRunId: string | undefined;
  // Each run that has started yields at least two events, so limit + 2 runs fill a page and one more.
  const batchSize = request.limit + 2;
  for (;;) {
    const batch = await services.threads.runHistory(caller, threadId, { fromRunId, limit: batchSize });
    const fresh = batch.filter((entry) => entry.run.id !== lastRunId);
    for (const entry of fresh) {
      const all = eventsOfRun(threadId, entry);
      if (entry.run.id !== start?.runId) skip = 0;
      for (let index = skip; index < all.length; index += 1) {
        const item = all[index];
        if (item === undefined) continue;
        if (events.length === request.limit) {
          return {
            events,
            hasMore: true,
            nextCursor: encodeCursor({ runId: entry.run.id, index, sequence }),
          };
        }
        events.push({ sequence, ...item });
        sequence += 1;
      }
      skip = 0;
      if (!isEnded(entry.run)) return { events, hasMore: false, nextCursor: null };
    }
    const last = batch.at(-1);
    if (batch.length < batchSize || last === undefined) return { events, hasMore: false, nextCursor: null };
    // The next batch starts at the last run read (inclusive); it is skipped there.
    fromRunId = last.run.id;
    lastRunId = last.run.id;
  }
}

function isEnded(run: Run): boolean {
  return isFinalRunStatus(run.status);
}

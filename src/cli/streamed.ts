/**
 * A command result printed while it is produced, so a long listing never
 * sits in memory: human lines as they come, or with `--json` one JSON
 * document `{ "<key>": [items...], ...summary }` written item by item
 * (nothing is written before the first item, so a command that fails
 * before it leaves stdout to the error document).
 */
export function streamedOutput(json: boolean, key: string, write: (text: string) => void = (t) => process.stdout.write(t)) {
  let count = 0;
  return {
    item(value: unknown, human: string) {
      if (json) write(`${count ? ',' : `{${JSON.stringify(key)}:[`}\n${JSON.stringify(value)}`);
      else write(`${human}\n`);
      count++;
    },
    /** Ends the document with the summary fields; `human` is printed after the lines. */
    end(summary: Record<string, unknown>, human?: string) {
      if (json) {
        const rest = Object.entries(summary).map(([k, v]) => `,\n${JSON.stringify(k)}:${JSON.stringify(v)}`).join('');
        write(`${count ? '\n]' : `{${JSON.stringify(key)}:[]`}${rest}\n}\n`);
      } else if (human) write(`${human}\n`);
    },
  };
}

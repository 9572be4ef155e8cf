/** `npm run dead-letters` (`node dist/cli/dead-letters.js`): the command in dead-letters-command.ts. */
import { runCommand } from './command-line.js';
import { deadLettersCommand } from './dead-letters-command.js';

runCommand(deadLettersCommand);

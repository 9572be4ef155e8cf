/** `npm run greetings` (`node dist/cli/greetings.js`): the command in greetings-command.ts. */
import { runCommand } from './command-line.js';
import { greetingsCommand } from './greetings-command.js';

runCommand(greetingsCommand);

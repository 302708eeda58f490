/** The subcommand in argv: the first word that is neither an option nor --root's value. */
export function commandName(args: string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--root') i++;
    else if (!args[i].startsWith('-')) return args[i];
  }
  return undefined;
}

/** A parsed value of the YAML subset docker/compose.yaml is written in. */
export type YamlValue = string | YamlValue[] | { [key: string]: YamlValue };

interface Line {
  indent: number;
  text: string;
  number: number;
}

function scalar(text: string): string {
  const quoted = /^(["'])(.*)\1$/.exec(text);
  return quoted ? quoted[2]! : text;
}

/**
 * Block mappings, block sequences of scalars, plain or quoted scalars and whole-line comments:
 * enough to read our compose file without a YAML dependency. Anything else throws with its line.
 */
export function parseYamlSubset(source: string): YamlValue {
  const lines: Line[] = source.split('\n').flatMap((raw, index) => {
    const text = raw.trim();
    if (text === '' || text.startsWith('#')) return [];
    return [{ indent: raw.length - raw.trimStart().length, text, number: index + 1 }];
  });
  let position = 0;

  const block = (indent: number): YamlValue => {
    if (lines[position]?.text.startsWith('- ')) {
      const items: YamlValue[] = [];
      while (lines[position]?.indent === indent && lines[position]!.text.startsWith('- ')) {
        items.push(scalar(lines[position]!.text.slice(2).trim()));
        position++;
      }
      return items;
    }
    const mapping: Record<string, YamlValue> = {};
    while (lines[position]?.indent === indent) {
      const line = lines[position]!;
      const entry = /^([\w.-]+):(?:\s+(.*))?$/.exec(line.text);
      if (!entry) throw new Error(`line ${line.number}: not in the YAML subset this parser reads: ${line.text}`);
      position++;
      const next = lines[position];
      if (entry[2] !== undefined) mapping[entry[1]!] = scalar(entry[2]);
      else if (next && (next.indent > indent || (next.indent === indent && next.text.startsWith('- ')))) mapping[entry[1]!] = block(next.indent);
      else mapping[entry[1]!] = {};
    }
    return mapping;
  };

  const document = block(0);
  const rest = lines[position];
  if (rest) throw new Error(`line ${rest.number}: unexpected indentation: ${rest.text}`);
  return document;
}

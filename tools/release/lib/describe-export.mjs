// One export of a package as Markdown lines, from the TypeScript checker: kind, signature(s), TSDoc
// text and tags, and for classes and interfaces their public members. Used by api-docs.mjs.

const FLAGS = 1; // ts.TypeFormatFlags.NoTruncation

/**
 * Describes the exported symbol `sym` (an alias is followed to its declaration). Returns
 * { name, documented, lines } where `documented` says whether the declaration has TSDoc.
 */
export function describeExport(ts, checker, sym) {
  const target = sym.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(sym) : sym;
  const name = sym.name;
  const decls = target.declarations ?? [];
  const decl = decls.find((d) => !ts.isFunctionDeclaration(d) || !d.body) ?? decls[0];
  if (!decl) return { name, documented: false, lines: [`### ${name}`, '', '(no declaration found)'] };
  const doc = links(ts.displayPartsToString(target.getDocumentationComment(checker)).trim());
  const tags = renderTags(ts, target.getJsDocTags(checker));
  const { kind, code, members, overloadDocs } = describeDeclaration(ts, checker, target, decl, name);
  const documented = doc.length > 0 || overloadDocs.some((d) => d.length > 0);
  const lines = [`### ${name}`, '', `*${kind}*`, '', '```ts', ...code, '```', ''];
  if (doc) lines.push(doc, '');
  else for (const d of overloadDocs.filter((x) => x)) lines.push(d, '');
  if (tags.length > 0) lines.push(...tags, '');
  if (members.length > 0) lines.push('Members:', '', ...members, '');
  return { name, documented, lines };
}

function describeDeclaration(ts, checker, sym, decl, name) {
  const type = checker.getTypeOfSymbolAtLocation(sym, decl);
  if (ts.isFunctionDeclaration(decl)) {
    const sigs = type.getCallSignatures();
    return {
      kind: 'function',
      code: sigs.map((s) => `function ${name}${checker.signatureToString(s, decl, FLAGS)};`),
      members: [],
      overloadDocs: sigs.map((s) => links(ts.displayPartsToString(s.getDocumentationComment(checker)).trim())),
    };
  }
  if (ts.isClassDeclaration(decl)) {
    const header = `${hasModifier(ts, decl, ts.SyntaxKind.AbstractKeyword) ? 'abstract ' : ''}class ${name}${typeParams(decl)}${heritage(decl)}`;
    const ctors = type.getConstructSignatures().map((s) => `  constructor${checker.signatureToString(s, decl, FLAGS).replace(/: [^:]+$/, '')};`);
    return { kind: 'class', code: [`${header} {`, ...ctors, '}'], members: classMembers(ts, checker, decl), overloadDocs: [] };
  }
  if (ts.isInterfaceDeclaration(decl)) {
    return {
      kind: 'interface',
      code: [`interface ${name}${typeParams(decl)}${heritage(decl)} {`, ...decl.members.map((m) => `  ${oneLine(m.getText())}`), '}'],
      members: decl.members.map((m) => memberLine(ts, checker, m, oneLine(m.getText()), true)).filter((l) => l !== null),
      overloadDocs: [],
    };
  }
  if (ts.isTypeAliasDeclaration(decl)) {
    return { kind: 'type', code: [`type ${name}${typeParams(decl)} = ${decl.type.getText()};`], members: [], overloadDocs: [] };
  }
  if (ts.isVariableDeclaration(decl)) {
    const isConst = (decl.parent.flags & ts.NodeFlags.Const) !== 0;
    return { kind: isConst ? 'constant' : 'variable', code: [`${isConst ? 'const' : 'let'} ${name}: ${checker.typeToString(type, decl, FLAGS)};`], members: [], overloadDocs: [] };
  }
  if (ts.isEnumDeclaration(decl)) return { kind: 'enum', code: [stripExport(decl.getText())], members: [], overloadDocs: [] };
  return { kind: ts.SyntaxKind[decl.kind], code: [stripExport(decl.getText())], members: [], overloadDocs: [] };
}

/** Public, non-underscore members of a class: properties with their types, methods with their signatures. */
function classMembers(ts, checker, decl) {
  const out = [];
  for (const m of decl.members) {
    if (ts.isConstructorDeclaration(m) || ts.isClassStaticBlockDeclaration(m) || ts.isIndexSignatureDeclaration(m) || ts.isSemicolonClassElement(m)) continue;
    if (!m.name || ts.isPrivateIdentifier(m.name)) continue;
    if (hasModifier(ts, m, ts.SyntaxKind.PrivateKeyword) || hasModifier(ts, m, ts.SyntaxKind.ProtectedKeyword)) continue;
    const memberName = m.name.getText();
    if (memberName.startsWith('_')) continue;
    const msym = checker.getSymbolAtLocation(m.name);
    if (!msym) continue;
    const prefix = [
      hasModifier(ts, m, ts.SyntaxKind.StaticKeyword) ? 'static ' : '',
      hasModifier(ts, m, ts.SyntaxKind.ReadonlyKeyword) ? 'readonly ' : '',
    ].join('');
    let sig;
    if (ts.isMethodDeclaration(m)) {
      if (m.body && (msym.declarations ?? []).filter((d) => ts.isMethodDeclaration(d)).length > 1) continue; // overload implementation
      const s = checker.getSignatureFromDeclaration(m);
      sig = `${prefix}${memberName}${s ? checker.signatureToString(s, m, FLAGS) : '(…)'}`;
    } else if (ts.isGetAccessorDeclaration(m)) {
      sig = `${prefix}get ${memberName}(): ${checker.typeToString(checker.getTypeOfSymbolAtLocation(msym, m), m, FLAGS)}`;
    } else if (ts.isSetAccessorDeclaration(m)) {
      if ((msym.declarations ?? []).some((d) => ts.isGetAccessorDeclaration(d))) continue;
      sig = `${prefix}set ${memberName}(value)`;
    } else if (ts.isPropertyDeclaration(m)) {
      sig = `${prefix}${memberName}${m.questionToken ? '?' : ''}: ${checker.typeToString(checker.getTypeOfSymbolAtLocation(msym, m), m, FLAGS)}`;
    } else continue;
    const line = memberLine(ts, checker, m, sig);
    if (line !== null) out.push(line);
  }
  return out;
}

/**
 * "- `signature` — first paragraph of the member's TSDoc"; null for an unnamed member, or for an
 * undocumented one when `onlyDocumented` (interface members already appear in the code block).
 */
function memberLine(ts, checker, m, sig, onlyDocumented = false) {
  if (!m.name) return null;
  const msym = checker.getSymbolAtLocation(m.name);
  const doc = msym ? links(ts.displayPartsToString(msym.getDocumentationComment(checker)).trim().split(/\n\s*\n/)[0].replace(/\s+/g, ' ')) : '';
  if (onlyDocumented && !doc) return null;
  return `- \`${sig.replace(/`/g, "'")}\`${doc ? ` — ${doc}` : ''}`;
}

function renderTags(ts, tags) {
  return tags
    .filter((t) => ['param', 'returns', 'throws', 'deprecated', 'example', 'see', 'remarks'].includes(t.name))
    .map((t) => {
      const text = links(ts.displayPartsToString(t.text ?? []).trim());
      return t.name === 'example' ? `Example:\n\n\`\`\`ts\n${text.replace(/^```\w*\n?|```$/g, '').trim()}\n\`\`\`` : `- **@${t.name}** ${text}`;
    });
}

/** `{@link X}` → `` `X` ``, `{@link X | text}` / `{@link X text}` → text. */
const links = (s) => s.replace(/\{@link(?:code|plain)?\s+([^}\s|]+)\s*(?:\|\s*)?([^}]*)\}/g, (_, target, text) => (text.trim() ? text.trim() : `\`${target}\``));
const oneLine = (s) => s.replace(/\s*\n\s*/g, ' ');
const stripExport = (s) => s.replace(/^export\s+(declare\s+)?/, '');
const typeParams = (decl) => (decl.typeParameters ? `<${decl.typeParameters.map((t) => t.getText()).join(', ')}>` : '');
const heritage = (decl) => (decl.heritageClauses ?? []).map((h) => ` ${oneLine(h.getText())}`).join('');
const hasModifier = (ts, node, kind) => (ts.getModifiers?.(node) ?? node.modifiers ?? []).some((m) => m.kind === kind);

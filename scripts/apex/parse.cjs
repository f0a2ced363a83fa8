// Parse Apex class files with @apexdevtools/apex-parser (the ANTLR grammar of the Apex Dev Tools
// project) and print one JSON line: {"files": [{"file", "errors": [{"line", "column", "message"}]}]}.
// Run by the project's Node: .tools/apex-parser/run FILE... (written by scripts/setup).
"use strict";
const fs = require("fs");
const path = require("path");
const { ApexParserFactory, ApexErrorListener } = require(
  path.join(process.env.APEX_PARSER_DIR, "node_modules", "@apexdevtools", "apex-parser"),
);

class Collect extends ApexErrorListener {
  constructor() {
    super();
    this.errors = [];
  }
  apexSyntaxError(line, column, message) {
    this.errors.push({ line, column, message });
  }
}

const files = process.argv.slice(2).map((file) => {
  const listener = new Collect();
  const { parser } = ApexParserFactory.createLexerAndParser(fs.readFileSync(file, "utf8"), listener);
  const unit = parser.compilationUnit();
  const declared = unit.typeDeclaration() && unit.typeDeclaration().classDeclaration();
  const name = declared ? declared.id().getText() : null;
  return { file, class: name, errors: listener.errors };
});
process.stdout.write(JSON.stringify({ files }) + "\n");

//! Syntax-pass cases beyond BuildKit's corpus: heredocs, CRLF, BOM, the backtick
//! escape, comments inside continuations, spans, and error positions.

use kiln_parser::dockerfile::{parse, Args, DockerfileError, Position};

fn dump(text: &str) -> String {
    parse(text)
        .unwrap_or_else(|e| panic!("parse failed: {e}\n{text}"))
        .dump()
}

#[test]
fn heredoc_bodies_are_attached_in_order() {
    let ast = parse("FROM x\nRUN <<A 3<<-\"B\" cat\none $X\nA\n\t\ttwo\n\tB\nCMD y\n").unwrap();
    let run = &ast.nodes[1];
    assert_eq!(run.heredocs.len(), 2);
    assert_eq!(
        (
            run.heredocs[0].name.as_str(),
            run.heredocs[0].content.as_str()
        ),
        ("A", "one $X\n")
    );
    assert!(run.heredocs[0].expand && !run.heredocs[0].chomp);
    let b = &run.heredocs[1];
    assert_eq!(
        (b.name.as_str(), b.file_descriptor, b.expand, b.chomp),
        ("B", 3, false, true)
    );
    assert_eq!(b.content, "\t\ttwo\n");
    assert_eq!(kiln_parser::dockerfile::chomp_content(&b.content), "two\n");
    assert_eq!((run.span.start.line, run.span.end.line), (2, 6));
    assert_eq!(ast.nodes[2].span.start, Position::new(7, 1));
    assert_eq!(
        ast.dump(),
        "(from \"x\")\n(run \"<<A 3<<-\\\"B\\\" cat\")\n(cmd \"y\")\n"
    );
}

#[test]
fn heredocs_in_copy_add_and_onbuild() {
    let ast = parse(
        "FROM x\nCOPY <<EOF /dst\nbody\nEOF\nONBUILD RUN <<EOF\nhi\nEOF\nADD <<'Q' /q\n$NOPE\nQ\n",
    )
    .unwrap();
    assert_eq!(ast.nodes[1].heredocs[0].content, "body\n");
    let Args::SubCommand(trigger) = &ast.nodes[2].args else {
        panic!("onbuild without trigger")
    };
    assert_eq!(trigger.heredocs[0].content, "hi\n");
    assert!(!ast.nodes[3].heredocs[0].expand);
}

#[test]
fn json_form_and_quoted_markers_have_no_heredoc() {
    let ast = parse("FROM x\nRUN [\"sh\", \"<<EOF\"]\nRUN echo '<<EOF'\n").unwrap();
    assert!(ast.nodes[1].heredocs.is_empty() && ast.nodes[2].heredocs.is_empty());
}

#[test]
fn unterminated_heredoc_names_its_line() {
    let err = parse("FROM x\nRUN <<EOF\necho hi\n").unwrap_err();
    assert!(
        matches!(err, DockerfileError::UnterminatedHeredoc { ref name, .. } if name == "EOF"),
        "{err}"
    );
    assert_eq!(err.position(), Position::new(2, 1));
    assert_eq!(
        err.display_in("Dockerfile"),
        "Dockerfile:2:1: unterminated heredoc EOF: expected a line 'EOF' before the end of the file"
    );
}

#[test]
fn crlf_bom_and_case_insensitive_keywords() {
    assert_eq!(
        dump("\u{feff}from x\r\nrun echo a \\\r\n  b\r\nEnV A=1\r\n"),
        "(from \"x\")\n(run \"echo a   b\")\n(env \"A\" \"1\" \"=\")\n"
    );
}

#[test]
fn backtick_escape_continues_lines_and_keeps_backslashes() {
    let text = "# escape=`\nFROM x\nRUN dir C:\\ `\n  && echo `\n  done\nCOPY a\\b c\\\n";
    assert_eq!(
        dump(text),
        "(from \"x\")\n(run \"dir C:\\\\   && echo   done\")\n(copy \"a\\\\b\" \"c\\\\\")\n"
    );
}

#[test]
fn comments_and_blank_lines_inside_continuations_are_skipped() {
    let ast = parse("FROM x\nRUN a \\\n  # note \\\n\n  b\n").unwrap();
    assert_eq!(ast.dump(), "(from \"x\")\n(run \"a   b\")\n");
    assert_eq!(
        ast.warnings.len(),
        1,
        "an empty continuation line is reported"
    );
}

#[test]
fn directives_are_recorded() {
    let ast =
        parse("# syntax=docker/dockerfile:1\n# check=skip=all\n# escape=`\nFROM x\n").unwrap();
    let names: Vec<_> = ast.directives.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["syntax", "check", "escape"]);
    assert_eq!(ast.escape, '`');
}

#[test]
fn errors_carry_line_and_column() {
    let err = parse("FROM x\n\n  ENV a=1 b\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "3:7: ENV: syntax error - can't find = in \"b\". Must be of the form: name=value"
    );
    let err = parse("FROM x\nCMD [\"a\", 1]\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "2:5: CMD: when using JSON array syntax, arrays must be comprised of strings only"
    );
    let err = parse("# escape=x\nFROM x\n").unwrap_err();
    assert_eq!(err.position(), Position::new(1, 1));
    let err = parse("# escape=`\n# escape=\\\nFROM x\n").unwrap_err();
    assert!(matches!(err, DockerfileError::DuplicateDirective { .. }));
    assert!(matches!(
        parse("\n# only a comment\n"),
        Err(DockerfileError::NoInstructions { .. })
    ));
    assert!(matches!(
        parse(""),
        Err(DockerfileError::NoInstructions { .. })
    ));
}

#[test]
fn continuation_positions_map_back_to_source() {
    let ast = parse("FROM x\nCOPY --from=a \\\n     src \\\n  dst\n").unwrap();
    let copy = &ast.nodes[1];
    let offset = copy.original.find("dst").unwrap();
    assert_eq!(
        copy.line_map.position(&copy.original, offset),
        Position::new(4, 3)
    );
    assert_eq!(
        (copy.span.start, copy.span.end.line),
        (Position::new(2, 1), 4)
    );
}

//! Parsing of the `select!` grammar.
//!
//! ```text
//! input   := crate-path `,` mode `;` arm*   (mode: unbiased, biased, unbiased_async, biased_async)
//! arm     := `recv` `(` expr `,`? `)` `->` pat `=>` body
//!          | `send` `(` expr `,` expr `,`? `)` `->` pat `=>` body
//!          | `default` ( `(` ( expr `,`? )? `)` )? `=>` body
//! body    := block-like-expr `,`?      (blocks, `if`, `match`, loops, ...)
//!          | expr ( `,` | end of input )
//! ```

use proc_macro2::{Delimiter, Ident, Span, TokenStream, TokenTree};
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Result};
use syn::punctuated::Punctuated;
use syn::{Error, Expr, Pat, Token};

/// Whether the ready operation is picked at random or by arm order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// `select!`: a random ready operation wins.
    Unbiased,
    /// `select_biased!`: the first ready operation in written order wins.
    Biased,
}

/// How the macro waits for an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Waiting {
    /// `select!`, `select_biased!`: the thread blocks.
    Blocking,
    /// `select_async!`, `select_biased_async!`: the task awaits
    /// (`Select::select_async`), so the macro is an expression of an
    /// `async` block or function.
    Async,
}

impl Input {
    /// The name of the user-facing macro, for error messages.
    pub(crate) fn macro_name(&self) -> &'static str {
        match (self.mode, self.waiting) {
            (Mode::Unbiased, Waiting::Blocking) => "select!",
            (Mode::Biased, Waiting::Blocking) => "select_biased!",
            (Mode::Unbiased, Waiting::Async) => "select_async!",
            (Mode::Biased, Waiting::Async) => "select_biased_async!",
        }
    }
}

/// What an arm does.
pub(crate) enum ArmKind {
    /// `recv(receiver) -> pat => body`.
    Recv {
        /// The receiver expression.
        chan: Expr,
        /// The pattern bound to `Result<T, RecvError>`.
        pat: Pat,
    },
    /// `send(sender, message) -> pat => body`.
    Send {
        /// The sender expression.
        chan: Expr,
        /// The message expression, evaluated only if this arm wins.
        msg: Expr,
        /// The pattern bound to `Result<(), SendError<T>>`.
        pat: Pat,
    },
    /// `default => body`, `default() => body` or `default(timeout) => body`.
    Default {
        /// The timeout expression, if any.
        timeout: Option<Expr>,
    },
}

/// One arm of the macro, in written order.
pub(crate) struct Arm {
    /// `recv`, `send` or `default`, for error spans.
    pub(crate) keyword: Ident,
    /// The operation.
    pub(crate) kind: ArmKind,
    /// The code run when this arm is chosen.
    pub(crate) body: Expr,
}

/// The whole macro input.
pub(crate) struct Input {
    /// Path to the `chan` crate (`$crate` when called through the facade).
    pub(crate) krate: TokenStream,
    /// Biased or unbiased selection.
    pub(crate) mode: Mode,
    /// Blocking or awaiting.
    pub(crate) waiting: Waiting,
    /// The arms, in written order.
    pub(crate) arms: Vec<Arm>,
}

impl Input {
    /// The `default` arm, if there is one.
    pub(crate) fn default_arm(&self) -> Option<&Arm> {
        self.arms
            .iter()
            .find(|arm| matches!(arm.kind, ArmKind::Default { .. }))
    }
}

/// Parses `<crate path> , <mode> ; <arms>`.
pub(crate) fn parse_input(input: ParseStream) -> Result<Input> {
    let krate = parse_crate_path(input)?;
    let mode_ident: Ident = input.parse()?;
    let (mode, waiting) = match mode_ident.to_string().as_str() {
        "unbiased" => (Mode::Unbiased, Waiting::Blocking),
        "biased" => (Mode::Biased, Waiting::Blocking),
        "unbiased_async" => (Mode::Unbiased, Waiting::Async),
        "biased_async" => (Mode::Biased, Waiting::Async),
        _ => {
            return Err(Error::new(
                mode_ident.span(),
                "internal error in chan's select!: expected `unbiased`, `biased`, \
                 `unbiased_async` or `biased_async`",
            ))
        }
    };
    input.parse::<Token![;]>()?;

    let mut parsed = Input {
        krate,
        mode,
        waiting,
        arms: Vec::new(),
    };
    if input.is_empty() {
        return Err(Error::new(
            Span::call_site(),
            format!(
                "{} needs at least one arm: `recv(r) -> msg => ...`, \
                 `send(s, msg) -> res => ...` or `default => ...`",
                parsed.macro_name()
            ),
        ));
    }

    let arms = &mut parsed.arms;
    let mut seen_default = false;
    while !input.is_empty() {
        let arm = parse_arm(input)?;
        if let ArmKind::Default { .. } = arm.kind {
            if seen_default {
                return Err(Error::new(
                    arm.keyword.span(),
                    "only one `default` arm is allowed",
                ));
            }
            seen_default = true;
        }
        arms.push(arm);
    }
    Ok(parsed)
}

/// Collects the tokens before the first top-level `,`.
fn parse_crate_path(input: ParseStream) -> Result<TokenStream> {
    input.step(|cursor| {
        let mut rest = *cursor;
        let mut tokens = TokenStream::new();
        while let Some((tt, next)) = rest.token_tree() {
            if let TokenTree::Punct(p) = &tt {
                if p.as_char() == ',' {
                    return Ok((tokens, next));
                }
            }
            tokens.extend(std::iter::once(tt));
            rest = next;
        }
        Err(cursor.error("internal error in chan's select!: missing crate path"))
    })
}

/// Describes the next token for "found `...`" messages.
fn describe(tt: &TokenTree) -> String {
    match tt {
        TokenTree::Group(g) => match g.delimiter() {
            Delimiter::Parenthesis => "`(`".to_owned(),
            Delimiter::Brace => "`{`".to_owned(),
            Delimiter::Bracket => "`[`".to_owned(),
            Delimiter::None => format!("`{}`", g.stream()),
        },
        other => format!("`{other}`"),
    }
}

/// An error at the next token, or at `fallback` when the input has ended.
fn error_at_next(input: ParseStream, fallback: Span, message: &str) -> Error {
    if input.is_empty() {
        Error::new(fallback, message)
    } else {
        Error::new(input.span(), message)
    }
}

/// Parses one arm, including the comma that may follow it.
fn parse_arm(input: ParseStream) -> Result<Arm> {
    if !input.peek(Ident::peek_any) {
        let tt: TokenTree = input.parse()?;
        return Err(Error::new(
            tt.span(),
            format!(
                "expected `recv`, `send` or `default`, found {}",
                describe(&tt)
            ),
        ));
    }
    let keyword = Ident::parse_any(input)?;
    let name = keyword.to_string();
    let kind = match name.as_str() {
        "recv" => {
            let (mut args, after) = parse_args(input, &keyword, "`recv(r)`")?;
            if args.len() != 1 {
                return Err(arg_count_error(
                    &args,
                    1,
                    after,
                    "`recv` takes exactly one argument: a receiver",
                ));
            }
            let chan = args.pop().expect("one argument");
            let pat = parse_pattern(input, &keyword, after)?;
            ArmKind::Recv { chan, pat }
        }
        "send" => {
            let (mut args, after) = parse_args(input, &keyword, "`send(s, msg)`")?;
            if args.len() != 2 {
                return Err(arg_count_error(
                    &args,
                    2,
                    after,
                    "`send` takes exactly two arguments: a sender and a message",
                ));
            }
            let msg = args.pop().expect("two arguments");
            let chan = args.pop().expect("two arguments");
            let pat = parse_pattern(input, &keyword, after)?;
            ArmKind::Send { chan, msg, pat }
        }
        "default" => {
            let mut timeout = None;
            if input.peek(syn::token::Paren) {
                let (mut args, after) = parse_args(input, &keyword, "`default(timeout)`")?;
                if args.len() > 1 {
                    return Err(arg_count_error(
                        &args,
                        1,
                        after,
                        "`default` takes at most one argument: a timeout (`Duration`)",
                    ));
                }
                timeout = args.pop();
            }
            if input.peek(Token![->]) {
                let arrow: Token![->] = input.parse()?;
                let mut tokens = quote::ToTokens::to_token_stream(&arrow);
                if !input.peek(Token![=>]) && !input.is_empty() {
                    let pat = Pat::parse_multi_with_leading_vert(input)?;
                    quote::ToTokens::to_tokens(&pat, &mut tokens);
                }
                return Err(Error::new_spanned(
                    tokens,
                    "`default` arm takes no pattern: remove `-> ...`",
                ));
            }
            ArmKind::Default { timeout }
        }
        _ => {
            return Err(Error::new(
                keyword.span(),
                format!("expected `recv`, `send` or `default`, found `{keyword}`"),
            ))
        }
    };

    let last_span = match &kind {
        ArmKind::Recv { pat, .. } | ArmKind::Send { pat, .. } => syn::spanned::Spanned::span(pat),
        ArmKind::Default { .. } => keyword.span(),
    };
    if !input.peek(Token![=>]) {
        let message = match kind {
            ArmKind::Default { .. } => "expected `=>` after `default`",
            _ => "expected `=>` after the pattern",
        };
        return Err(error_at_next(input, last_span, message));
    }
    let arrow: Token![=>] = input.parse()?;
    if input.is_empty() || input.peek(Token![,]) {
        return Err(error_at_next(
            input,
            arrow.spans[1],
            "expected an expression or a block after `=>`",
        ));
    }
    let body = parse_body(input)?;
    Ok(Arm {
        keyword,
        kind,
        body,
    })
}

/// Parses the parenthesized argument list after `keyword`; returns the
/// arguments and the span of the parentheses.
fn parse_args(input: ParseStream, keyword: &Ident, example: &str) -> Result<(Vec<Expr>, Span)> {
    if !input.peek(syn::token::Paren) {
        return Err(error_at_next(
            input,
            keyword.span(),
            &format!("expected `(` after `{keyword}`, as in {example}"),
        ));
    }
    let content;
    let paren = syn::parenthesized!(content in input);
    let args = Punctuated::<Expr, Token![,]>::parse_terminated(&content)?;
    Ok((args.into_iter().collect(), paren.span.join()))
}

/// The error for a wrong number of arguments: it points at the surplus
/// arguments, or at the parentheses when arguments are missing.
fn arg_count_error(args: &[Expr], max: usize, parens: Span, message: &str) -> Error {
    if args.len() > max {
        let mut tokens = TokenStream::new();
        for arg in &args[max..] {
            quote::ToTokens::to_tokens(arg, &mut tokens);
        }
        Error::new_spanned(tokens, message)
    } else {
        Error::new(parens, message)
    }
}

/// Parses `-> pat` after a `recv(...)` or `send(...)`.
fn parse_pattern(input: ParseStream, keyword: &Ident, after: Span) -> Result<Pat> {
    if !input.peek(Token![->]) {
        let example = if keyword == "recv" {
            "`recv(r) -> msg => ...`"
        } else {
            "`send(s, msg) -> res => ...`"
        };
        return Err(error_at_next(
            input,
            after,
            &format!("expected `->` and a pattern after `{keyword}(...)`, as in {example}"),
        ));
    }
    let arrow: Token![->] = input.parse()?;
    if input.is_empty() || input.peek(Token![=>]) || input.peek(Token![,]) {
        return Err(error_at_next(
            input,
            arrow.spans[1],
            "expected a pattern after `->` (use `_` to ignore the result)",
        ));
    }
    // A pattern ends at `=>` (or, when that is missing, at the next comma).
    let fork = input.fork();
    let mut tokens = Vec::new();
    while !fork.is_empty() && !fork.peek(Token![=>]) && !fork.peek(Token![,]) {
        tokens.push(fork.parse::<TokenTree>()?);
    }
    if fork.peek(Token![=>]) {
        let pat = Pat::parse_multi_with_leading_vert(input)?;
        if !input.peek(Token![=>]) {
            return Err(Error::new(input.span(), "expected `=>` after the pattern"));
        }
        return Ok(pat);
    }
    // No `=>`: report it missing after the longest prefix that is a pattern,
    // so that `recv(r) -> msg { body }` points at the body's brace.
    let complete_pattern = |input: ParseStream| -> Result<Pat> {
        let pat = Pat::parse_multi_with_leading_vert(input)?;
        if input.is_empty() {
            Ok(pat)
        } else {
            Err(input.error("trailing tokens"))
        }
    };
    for len in (1..=tokens.len()).rev() {
        let prefix: TokenStream = tokens[..len].iter().cloned().collect();
        if syn::parse::Parser::parse2(complete_pattern, prefix).is_ok() {
            let span = match tokens.get(len) {
                Some(next) => next.span(),
                None => error_at_next(&fork, tokens[len - 1].span(), "").span(),
            };
            return Err(Error::new(span, "expected `=>` after the pattern"));
        }
    }
    Pat::parse_multi_with_leading_vert(input)
}

/// True for expressions that end in a block and so, like match arms, need no
/// comma after them.
fn is_block_like(expr: &Expr) -> bool {
    matches!(
        expr,
        Expr::Block(_)
            | Expr::Const(_)
            | Expr::ForLoop(_)
            | Expr::If(_)
            | Expr::Loop(_)
            | Expr::Match(_)
            | Expr::TryBlock(_)
            | Expr::Unsafe(_)
            | Expr::While(_)
    )
}

/// Parses an arm body and the comma after it.
fn parse_body(input: ParseStream) -> Result<Expr> {
    // First as a full expression: `{ a } + b,` is then one body, like a
    // `$body:expr` fragment in a `macro_rules!` macro.
    let fork = input.fork();
    if let Ok(expr) = fork.parse::<Expr>() {
        if fork.is_empty() || fork.peek(Token![,]) {
            syn::parse::discouraged::Speculative::advance_to(input, &fork);
            if input.peek(Token![,]) {
                input.parse::<Token![,]>()?;
            }
            return Ok(expr);
        }
    }
    // Otherwise the body ends where a match arm's body would end.
    let expr = Expr::parse_with_earlier_boundary_rule(input)?;
    if input.peek(Token![,]) {
        input.parse::<Token![,]>()?;
    } else if !input.is_empty() && !is_block_like(&expr) {
        return Err(Error::new_spanned(
            &expr,
            "expected `,` after this arm's body (only a block body may omit the comma)",
        ));
    }
    Ok(expr)
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn parse(tokens: TokenStream) -> Result<Input> {
        syn::parse::Parser::parse2(parse_input, tokens)
    }

    fn error(tokens: TokenStream) -> String {
        match parse(tokens) {
            Ok(_) => panic!("input was accepted"),
            Err(err) => err.to_string(),
        }
    }

    #[test]
    fn header_and_modes() {
        let input = parse(quote!(::chan, biased; default => ())).unwrap();
        assert_eq!(input.krate.to_string(), ":: chan");
        assert_eq!(input.mode, Mode::Biased);
        let input = parse(quote!(krate, unbiased; default => ())).unwrap();
        assert_eq!(input.mode, Mode::Unbiased);
        assert!(error(quote!(krate, sideways; default => ())).contains("internal error"));
    }

    #[test]
    fn all_arm_kinds_in_order() {
        let input = parse(quote!(c, unbiased;
            recv(r) -> msg => msg.unwrap(),
            send(s, 1 + 2,) -> res => { res.unwrap() }
            default(timeout,) => 3
        ))
        .unwrap();
        assert_eq!(input.arms.len(), 3);
        match &input.arms[0].kind {
            ArmKind::Recv { chan, pat } => {
                assert_eq!(quote!(#chan).to_string(), "r");
                assert_eq!(quote!(#pat).to_string(), "msg");
            }
            _ => panic!("expected recv"),
        }
        match &input.arms[1].kind {
            ArmKind::Send { chan, msg, pat } => {
                assert_eq!(quote!(#chan).to_string(), "s");
                assert_eq!(quote!(#msg).to_string(), "1 + 2");
                assert_eq!(quote!(#pat).to_string(), "res");
            }
            _ => panic!("expected send"),
        }
        match &input.arms[2].kind {
            ArmKind::Default { timeout } => {
                assert_eq!(quote!(#timeout).to_string(), "timeout");
            }
            _ => panic!("expected default"),
        }
        assert!(input.default_arm().is_some());
    }

    #[test]
    fn default_forms() {
        for tokens in [
            quote!(c, unbiased; default => 1),
            quote!(c, unbiased; default() => 1,),
        ] {
            let input = parse(tokens).unwrap();
            assert!(matches!(
                input.arms[0].kind,
                ArmKind::Default { timeout: None }
            ));
        }
    }

    #[test]
    fn bodies_and_commas() {
        // Block-like bodies need no comma; expression bodies do unless last.
        let input = parse(quote!(c, unbiased;
            recv(a) -> _ => {}
            recv(b) -> _ => if x { 1 } else { 2 }
            recv(c) -> _ => match y { _ => 3 }
            recv(d) -> _ => { 4 } + 5,
            recv(e) -> (a, b) => a + b,
        ))
        .unwrap();
        assert_eq!(input.arms.len(), 5);
        let body = &input.arms[3].body;
        assert_eq!(quote!(#body).to_string(), "{ 4 } + 5");
        assert!(
            error(quote!(c, unbiased; recv(a) -> _ => f() recv(b) -> _ => g()))
                .contains("expected `,` after this arm's body")
        );
        assert!(input.default_arm().is_none());
    }

    #[test]
    fn malformed_inputs() {
        let cases: &[(TokenStream, &str)] = &[
            (quote!(c, unbiased;), "select! needs at least one arm"),
            (quote!(c, biased;), "select_biased! needs at least one arm"),
            (
                quote!(c, unbiased; foo(r) -> _ => ()),
                "expected `recv`, `send` or `default`, found `foo`",
            ),
            (
                quote!(c, unbiased; 5 => ()),
                "expected `recv`, `send` or `default`, found `5`",
            ),
            (
                quote!(c, unbiased; recv() -> _ => ()),
                "`recv` takes exactly one argument",
            ),
            (
                quote!(c, unbiased; recv(a, b) -> _ => ()),
                "`recv` takes exactly one argument",
            ),
            (
                quote!(c, unbiased; send(s) -> _ => ()),
                "`send` takes exactly two arguments",
            ),
            (
                quote!(c, unbiased; send(s, 1, 2) -> _ => ()),
                "`send` takes exactly two arguments",
            ),
            (
                quote!(c, unbiased; default => (), default => ()),
                "only one `default` arm is allowed",
            ),
            (
                quote!(c, unbiased; default -> x => ()),
                "`default` arm takes no pattern",
            ),
            (
                quote!(c, unbiased; default(a, b) => ()),
                "`default` takes at most one argument",
            ),
            (
                quote!(c, unbiased; recv(r) -> v ()),
                "expected `=>` after the pattern",
            ),
            (
                quote!(c, unbiased; recv(r) => ()),
                "expected `->` and a pattern after `recv(...)`",
            ),
            (
                quote!(c, unbiased; recv(r) -> => ()),
                "expected a pattern after `->`",
            ),
            (
                quote!(c, unbiased; recv r -> v => ()),
                "expected `(` after `recv`",
            ),
            (
                quote!(c, unbiased; recv(r) -> v =>),
                "expected an expression or a block after `=>`",
            ),
            (
                quote!(c, unbiased; default 5 => ()),
                "expected `=>` after `default`",
            ),
            (
                quote!(c, unbiased; recv(r) -> msg { body(msg) }),
                "expected `=>` after the pattern",
            ),
            (
                quote!(c, unbiased; recv(r) -> a b => ()),
                "expected `=>` after the pattern",
            ),
        ];
        for (tokens, expected) in cases {
            let message = error(tokens.clone());
            assert!(
                message.contains(expected),
                "input `{tokens}`: got {message:?}, expected {expected:?}"
            );
        }
    }
}

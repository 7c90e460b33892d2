//! Code generation for `select!`.
//!
//! For
//!
//! ```text
//! select! {
//!     recv(r) -> msg => body0,
//!     send(s, m) -> res => body1,
//!     default(t) => body2,
//! }
//! ```
//!
//! the expansion is, in outline (internal names are hygienic):
//!
//! ```text
//! {
//!     enum Selected<A0, A1> { Arm0(A0), Arm1(A1), Default }
//!     let selected = match r { ref c0 => match s { ref c1 => match t { t => {
//!         let c0: &chan::Receiver<_> = c0;
//!         let c1: &chan::Sender<_> = c1;
//!         let t: Duration = t;
//!         let mut sel = chan::Select::new();
//!         let i0 = sel.recv(c0);
//!         let i1 = sel.send(c1);
//!         match sel.select_timeout(t) {
//!             Ok(oper) => {
//!                 let index = oper.index();
//!                 if index == i0 { Selected::Arm0(oper.recv(c0)) }
//!                 else { Selected::Arm1(oper.send(c1, m)) }
//!             }
//!             Err(_) => Selected::Default,
//!         }
//!     }}}}}};
//!     match selected {
//!         Selected::Arm0(value) => { let msg = value; body0 }
//!         Selected::Arm1(value) => { let res = value; body1 }
//!         Selected::Default => { body2 }
//!     }
//! }
//! ```
//!
//! Channel expressions (and the timeout) are evaluated once, in written
//! order, as `match` scrutinees so that temporaries live until the operation
//! completes. All borrows of the channels end with the `let`, so bodies may
//! move or drop the channels; bodies are plain code (no closures), so
//! `break`, `continue`, `return` and `?` act on the surrounding function.

use proc_macro2::{Delimiter, Group, Ident, Span, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;

use crate::parse::{ArmKind, Input, Mode, Waiting};

/// A hygienic identifier: invisible to user code, like a `macro_rules!` local.
fn hidden(name: &str) -> Ident {
    Ident::new(name, Span::mixed_site())
}

/// The same hygienic identifier, reported at `location` in diagnostics.
fn at(ident: &Ident, location: Span) -> Ident {
    Ident::new(&ident.to_string(), ident.span().located_at(location))
}

/// The expression in parentheses, so that rustc parses it as a unit wherever
/// it lands (`{ a } + b` in statement position). The parentheses carry the
/// macro's own span, which keeps the `unused_parens` lint quiet.
fn grouped(expr: &syn::Expr) -> Group {
    Group::new(Delimiter::Parenthesis, expr.to_token_stream())
}

/// The expression as a `match` scrutinee. Only an expression with a
/// top-level `{ ... }` (a struct literal, say) needs parentheses there; the
/// others keep their own tokens, so borrow-check notes point at them.
fn scrutinee(expr: &syn::Expr) -> TokenStream {
    let tokens = expr.to_token_stream();
    let has_brace = tokens.clone().into_iter().any(
        |tt| matches!(&tt, proc_macro2::TokenTree::Group(g) if g.delimiter() == Delimiter::Brace),
    );
    if has_brace {
        grouped(expr).into_token_stream()
    } else {
        tokens
    }
}

/// Produces the expansion of a parsed `select!`.
pub(crate) fn expand(input: &Input) -> TokenStream {
    let krate = &input.krate;
    let enum_name = hidden("__ChanSelected");
    let selected = hidden("__chan_selected");
    let value = hidden("__chan_value");
    let sel = hidden("__chan_sel");
    let oper = hidden("__chan_oper");
    let index = hidden("__chan_index");
    let timeout = hidden("__chan_timeout");
    let deadline = hidden("__chan_deadline");
    let deadline_index = hidden("__chan_deadline_index");

    // Per channel arm: binding, index variable, type parameter and variant.
    struct ChannelArm<'a> {
        chan: Ident,
        index: Ident,
        param: Ident,
        variant: Ident,
        kind: &'a ArmKind,
    }
    let mut channel_arms = Vec::new();
    for arm in &input.arms {
        if let ArmKind::Recv { .. } | ArmKind::Send { .. } = arm.kind {
            let n = channel_arms.len();
            channel_arms.push(ChannelArm {
                chan: hidden(&format!("__chan_op{n}")),
                index: hidden(&format!("__chan_index{n}")),
                param: format_ident!("A{}", n),
                variant: format_ident!("Arm{}", n),
                kind: &arm.kind,
            });
        }
    }
    let default = input.default_arm().map(|arm| match &arm.kind {
        ArmKind::Default { timeout } => timeout.as_ref(),
        _ => unreachable!("default_arm returns a default arm"),
    });

    // The enum carrying the chosen arm's result out of the borrowing scope.
    let params: Vec<&Ident> = channel_arms.iter().map(|c| &c.param).collect();
    let variants = channel_arms.iter().map(|c| {
        let (variant, param) = (&c.variant, &c.param);
        quote!(#variant(#param))
    });
    let default_variant = default.map(|_| quote!(Default,));
    let enum_def = quote! {
        #[allow(dead_code, clippy::large_enum_variant)]
        enum #enum_name<#(#params),*> {
            #(#variants,)*
            #default_variant
        }
    };

    // Coercions, done once every expression has been evaluated. They carry
    // the span of the user's expression so type errors point at it.
    let coercions = channel_arms.iter().map(|c| {
        let name = &c.chan;
        let (ArmKind::Recv { chan, .. } | ArmKind::Send { chan, .. }) = c.kind else {
            unreachable!("channel arms only")
        };
        let rhs = at(name, chan.span());
        match c.kind {
            ArmKind::Recv { chan, .. } => quote_spanned! {chan.span()=>
                let #name: &#krate::Receiver<_> = #rhs;
            },
            ArmKind::Send { chan, .. } => quote_spanned! {chan.span()=>
                let #name: &#krate::Sender<_> = #rhs;
            },
            ArmKind::Default { .. } => unreachable!("channel arms only"),
        }
    });
    let timeout_coercion = match default {
        Some(Some(expr)) => {
            let rhs = at(&timeout, expr.span());
            quote_spanned! {expr.span()=>
                let #timeout: ::core::time::Duration = #rhs;
            }
        }
        _ => TokenStream::new(),
    };

    let new_select = match input.mode {
        Mode::Unbiased => quote!(#krate::Select::new()),
        Mode::Biased => quote!(#krate::Select::new_biased()),
    };
    let registrations = channel_arms.iter().map(|c| {
        let (chan, idx) = (&c.chan, &c.index);
        match c.kind {
            ArmKind::Recv { .. } => quote!(let #idx = #sel.recv(#chan);),
            _ => quote!(let #idx = #sel.send(#chan);),
        }
    });

    // Completing the selected operation: the message is evaluated here only.
    let complete = |c: &ChannelArm| -> TokenStream {
        let (chan, variant) = (&c.chan, &c.variant);
        match c.kind {
            ArmKind::Recv { .. } => quote!(#enum_name::#variant(#oper.recv(#chan))),
            ArmKind::Send { msg, .. } => {
                quote!(#enum_name::#variant(#oper.send(#chan, #msg)))
            }
            ArmKind::Default { .. } => unreachable!("channel arms only"),
        }
    };
    let dispatch = match channel_arms.split_last() {
        None => TokenStream::new(),
        Some((last, [])) => complete(last),
        Some((last, init)) => {
            let tests = init.iter().map(|c| {
                let idx = &c.index;
                let done = complete(c);
                quote!(if #index == #idx { #done } else)
            });
            let last = complete(last);
            quote! {
                let #index = #oper.index();
                #(#tests)* { #last }
            }
        }
    };

    let choose = if channel_arms.is_empty() {
        // Only a default arm: nothing can be ready. A timeout still waits.
        let wait = match (default, input.waiting) {
            (Some(Some(_)), Waiting::Blocking) => quote! {
                let _ = #new_select.ready_timeout(#timeout);
            },
            (Some(Some(_)), Waiting::Async) => quote! {
                let _ = #krate::after(#timeout).recv_async().await;
            },
            _ => TokenStream::new(),
        };
        quote! {
            #wait
            #enum_name::Default
        }
    } else {
        let selection = match (default, input.waiting) {
            (None, Waiting::Blocking) => quote! {
                let #oper = #sel.select();
                #dispatch
            },
            (None, Waiting::Async) => quote! {
                let #oper = #sel.select_async().await;
                #dispatch
            },
            // A task's timeout is one more receive, on a timer channel,
            // added last so that a biased select prefers every channel to it.
            (Some(Some(_)), Waiting::Async) => quote! {
                let #deadline = #krate::after(#timeout);
                let #deadline_index = #sel.recv(&#deadline);
                let #oper = #sel.select_async().await;
                if #oper.index() == #deadline_index {
                    let _ = #oper.recv(&#deadline);
                    // As with a blocking timeout, an operation that is
                    // ready when the time is up still wins.
                    #sel.remove(#deadline_index);
                    match #sel.try_select() {
                        ::core::result::Result::Ok(#oper) => { #dispatch }
                        ::core::result::Result::Err(_) => #enum_name::Default,
                    }
                } else {
                    #dispatch
                }
            },
            (Some(timeout_expr), _) => {
                let call = match timeout_expr {
                    None => quote!(#sel.try_select()),
                    Some(_) => quote!(#sel.select_timeout(#timeout)),
                };
                quote! {
                    match #call {
                        ::core::result::Result::Ok(#oper) => { #dispatch }
                        ::core::result::Result::Err(_) => #enum_name::Default,
                    }
                }
            }
        };
        quote! {
            let mut #sel = #new_select;
            #(#registrations)*
            #selection
        }
    };

    // Evaluate the expressions in written order, innermost last.
    let mut evaluation = quote! {{
        #(#coercions)*
        #timeout_coercion
        #choose
    }};
    for arm in input.arms.iter().rev() {
        evaluation = match &arm.kind {
            ArmKind::Recv { chan, .. } | ArmKind::Send { chan, .. } => {
                let position = channel_arms
                    .iter()
                    .position(|c| std::ptr::eq(c.kind, &arm.kind))
                    .expect("every channel arm is recorded");
                let name = &channel_arms[position].chan;
                // Borrow-check notes about this binding point at the expression.
                let span = chan.span();
                let binding = at(name, span);
                let binding = quote_spanned!(span=> ref #binding);
                let chan = scrutinee(chan);
                quote!(match #chan { #binding => #evaluation })
            }
            ArmKind::Default {
                timeout: Some(expr),
            } => {
                let expr = scrutinee(expr);
                quote!(match #expr { #timeout => #evaluation })
            }
            ArmKind::Default { timeout: None } => evaluation,
        };
    }

    // Run the chosen body, outside of every borrow.
    let mut n = 0usize;
    let arms = input.arms.iter().map(|arm| {
        let body = grouped(&arm.body);
        match &arm.kind {
            ArmKind::Recv { pat, .. } | ArmKind::Send { pat, .. } => {
                let variant = format_ident!("Arm{}", n);
                n += 1;
                if let syn::Pat::Wild(_) = pat {
                    // `-> _`: nothing to bind (and no `let _ =` for lints to flag).
                    return quote!(#enum_name::#variant(_) => { #body });
                }
                // `let` and the value take the span of the pattern's last
                // token, so rustc's `let...else` hint lands after the pattern.
                let end = pat
                    .to_token_stream()
                    .into_iter()
                    .last()
                    .map_or_else(|| pat.span(), |tt| tt.span());
                let rhs = at(&value, end);
                let bind = quote_spanned!(end=> let #pat = #rhs;);
                quote!(#enum_name::#variant(#value) => { #bind #body })
            }
            ArmKind::Default { .. } => quote!(#enum_name::Default => { #body }),
        }
    });
    let arms: Vec<TokenStream> = arms.collect();

    quote! {{
        #enum_def
        let #selected = #evaluation;
        match #selected {
            #(#arms)*
        }
    }}
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand_str(tokens: TokenStream) -> String {
        let input = syn::parse::Parser::parse2(crate::parse::parse_input, tokens).unwrap();
        expand(&input).to_string()
    }

    #[test]
    fn selection_call_follows_default_arm() {
        let blocking = expand_str(quote!(c, unbiased; recv(r) -> m => m));
        assert!(blocking.contains(". select ()"), "{blocking}");
        assert!(blocking.contains("Select :: new ()"), "{blocking}");

        let polling = expand_str(quote!(c, biased; recv(r) -> m => m, default => 0));
        assert!(polling.contains(". try_select ()"), "{polling}");
        assert!(polling.contains("Select :: new_biased ()"), "{polling}");

        let waiting = expand_str(quote!(c, unbiased; default(t) => 1, send(s, 2) -> m => m));
        assert!(waiting.contains(". select_timeout ("), "{waiting}");
    }

    #[test]
    fn async_forms_await_and_time_out_on_a_timer_channel() {
        let waiting = expand_str(quote!(c, unbiased_async; recv(r) -> m => m));
        assert!(waiting.contains(". select_async () . await"), "{waiting}");
        assert!(!waiting.contains(". select ()"), "{waiting}");

        let timed = expand_str(quote!(c, biased_async; recv(r) -> m => m, default(t) => 0));
        assert!(timed.contains("Select :: new_biased ()"), "{timed}");
        assert!(timed.contains("c :: after ("), "{timed}");
        assert!(timed.contains(". try_select ()"), "{timed}");
        assert!(!timed.contains("select_timeout"), "{timed}");

        let polling = expand_str(quote!(c, unbiased_async; recv(r) -> m => m, default => 0));
        assert!(polling.contains(". try_select ()"), "{polling}");
        assert!(!polling.contains("await"), "{polling}");

        let sleeping = expand_str(quote!(c, unbiased_async; default(t) => 1));
        assert!(sleeping.contains(". recv_async () . await"), "{sleeping}");
    }

    #[test]
    fn default_alone_needs_no_select_unless_it_waits() {
        let plain = expand_str(quote!(c, unbiased; default => 1));
        assert!(!plain.contains("Select ::"), "{plain}");
        let waiting = expand_str(quote!(c, unbiased; default(t) => 1));
        assert!(waiting.contains(". ready_timeout ("), "{waiting}");
    }

    #[test]
    fn no_unsafe_and_each_body_once() {
        let out = expand_str(quote!(c, unbiased;
            recv(a) -> x => body_one(x),
            send(b, make_message()) -> y => body_two(y),
            default(t) => body_three()
        ));
        assert!(!out.contains("unsafe"), "{out}");
        for needle in ["body_one", "body_two", "body_three", "make_message"] {
            assert_eq!(out.matches(needle).count(), 1, "{needle} in {out}");
        }
    }

    #[test]
    fn channel_expressions_in_written_order() {
        let out = expand_str(quote!(c, unbiased;
            recv(first()) -> _ => (),
            default(second()) => (),
            send(third(), 0) -> _ => ()
        ));
        let first = out.find("first").unwrap();
        let second = out.find("second").unwrap();
        let third = out.find("third").unwrap();
        assert!(first < second && second < third, "{out}");
    }

    #[test]
    fn many_arms() {
        let arms = (0..100usize).map(|i| {
            let r = format_ident!("r{}", i);
            quote!(recv(#r) -> m => m,)
        });
        let out = expand_str(quote!(c, unbiased; #(#arms)*));
        assert!(out.contains("Arm99"), "{out}");
    }
}

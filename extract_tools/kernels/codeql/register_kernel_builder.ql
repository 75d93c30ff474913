/**
 * @name REGISTER_KERNEL_BUILDER locations
 * @description Every invocation of the REGISTER_KERNEL_BUILDER macro, as
 *              `/path:startline:startcol:endline:endcol` (path relative to the
 *              source root, with a leading slash). An invocation written inside
 *              a #define is reported at its place in the macro body
 *              (getActualLocation), once per expansion, like the reference
 *              output in ../shared/reference/codeql/.
 * @kind table
 * @id tfmodel-lint/register-kernel-builder
 * @tags tfmodel-lint
 */

import cpp

from MacroInvocation mi, Location loc
where
  mi.getMacroName() = "REGISTER_KERNEL_BUILDER" and
  loc = mi.getActualLocation()
select "/" + loc.getFile().getRelativePath() + ":" + loc.getStartLine().toString() + ":" +
    loc.getStartColumn().toString() + ":" + loc.getEndLine().toString() + ":" +
    loc.getEndColumn().toString()

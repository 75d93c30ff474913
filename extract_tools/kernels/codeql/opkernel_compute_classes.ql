/**
 * @name OpKernel Compute methods
 * @description Subclasses of tensorflow::OpKernel and the methods that do
 *              their work (Compute, ComputeAsync, MakeDataset). The message is
 *              the class name; the location is the method's definition. With
 *              `codeql database analyze --format=csv` this gives the rows
 *              `name, description, severity, class, path, line, col, endline, endcol`
 *              that extract_tools reads (an .xlsx export of them works too).
 * @kind problem
 * @problem.severity recommendation
 * @id tfmodel-lint/opkernel-compute-classes
 * @tags tfmodel-lint
 */

import cpp

/** A class deriving (directly or not) from tensorflow::OpKernel, templates uninstantiated. */
class OpKernelClass extends Class {
  OpKernelClass() {
    this.getABaseClass+().hasQualifiedName("tensorflow", "OpKernel") and
    not this instanceof ClassTemplateInstantiation
  }
}

from OpKernelClass c, MemberFunction f, FunctionDeclarationEntry def
where
  f.getDeclaringType() = c and
  f.getName() = ["Compute", "ComputeAsync", "MakeDataset"] and
  def = f.getDefinition()
select def, c.getSimpleName()

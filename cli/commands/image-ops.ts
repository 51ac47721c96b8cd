// The image lifecycle verbs added to the `image` group: capture, exec, shell, diff
// (docs/capture.md, docs/image-edit.md).
import type { Command } from 'commander'
import { addCaptureCommand } from './image-capture.ts'
import { addEditCommands } from './image-edit.ts'

export function addImageOps(image: Command): Command {
  addCaptureCommand(image)
  addEditCommands(image)
  return image
}

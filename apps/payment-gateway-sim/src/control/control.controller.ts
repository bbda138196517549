import { Body, Controller, Get, Put } from '@nestjs/common';
import { ControlDto } from './control.dto';
import { ControlService, ControlState } from './control.service';

@Controller('control')
export class ControlController {
  constructor(private readonly control: ControlService) {}

  @Get()
  get(): ControlState {
    return this.control.get();
  }

  @Put()
  put(@Body() body: ControlDto): ControlState {
    return this.control.update(body);
  }
}
